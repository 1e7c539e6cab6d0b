package alerting

import (
	"context"
	"errors"

	"loa/alert"
	"loa/signing"
	"loa/sqlite"
)

// KeyError is a ward's receipt key that could not be read: the receipt
// is neither taken nor refused, the bus delivers it again.
type KeyError struct{ Err error }

func (e *KeyError) Error() string { return e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// Forged reports whether err (of OpenReceipt) means the receipt is not
// signed by the ward's own key: someone else publishes as the ward.
func Forged(err error) bool {
	return errors.Is(err, signing.ErrUnsigned) || errors.Is(err, signing.ErrUnknownKey) || errors.Is(err, signing.ErrBadSignature)
}

// OpenReceipt reads a receipt that ward sent (data as taken from the bus,
// seq its stream sequence) and returns it as it is to be recorded. Only
// a receipt signed by the ward's own key is read (a ward that registered
// none yet is read as before; docs/security.md): a forged one is an error
// for which Forged is true, an unreadable one another error; the key not
// readable now is a *KeyError.
//
// A receipt is recorded whatever alert it names: one for an alert the
// city does not know shows nowhere, one from a ward the alert was not for
// shows in the alert's status without counting in its summary.
func (s *Service) OpenReceipt(ctx context.Context, ward string, data []byte, seq uint64) (sqlite.AlertReport, error) {
	key, err := s.keys.ReceiptKey(ctx, ward)
	if err != nil {
		return sqlite.AlertReport{}, &KeyError{Err: err}
	}
	r, _, err := alert.OpenReport(data, key)
	if err != nil {
		return sqlite.AlertReport{}, err
	}
	if r.State == alert.Rejected {
		s.log.Warn("a ward rejected an alert", "ward", ward, "alert", r.Alert, "verified", r.Verified, "reason", r.Reason)
	} else {
		s.log.Debug("alert receipt", "ward", ward, "alert", r.Alert, "state", r.String())
	}
	return sqlite.AlertReport{Alert: r.Alert, Verified: r.Verified, Ward: ward, State: string(r.State), Reason: r.Reason,
		At: r.At, FetchMS: r.FetchMS, ReceivedAt: s.now(), StreamSeq: seq}, nil
}

// RecordReceipts records receipts in one transaction (a thousand wards
// answer within the same second: one sync for all).
func (s *Service) RecordReceipts(ctx context.Context, reps []sqlite.AlertReport) error {
	return s.store.AddReports(ctx, reps)
}

// LastReceiptSeq is the highest stream sequence of a receipt recorded
// (0: none): where the city's intake resumes.
func (s *Service) LastReceiptSeq(ctx context.Context) (uint64, error) {
	return s.store.LastReportSeq(ctx)
}
