package board

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"loa/city/api"
	"loa/fleet"
	"loa/schedule"
	"loa/signing"
	"loa/sqlite"
)

// OpenAsRun reads one as-run message that arrived on ward's subject; key
// is the ward's registered receipt key (nil: none). A message its key did
// not sign is refused as forged (counted, logged, flagged on the board:
// RefuseSigned); one that cannot be read, or that names another ward than
// its subject's, is refused as unreadable (counted, logged at most once a
// minute per ward). Either way the caller drops it for good.
func (s *Service) OpenAsRun(ward string, data []byte, key ed25519.PublicKey) (fleet.AsRunEntry, error) {
	e, _, err := fleet.OpenAsRun(data, ward, key)
	if errors.Is(err, signing.ErrUnsigned) || errors.Is(err, signing.ErrUnknownKey) || errors.Is(err, signing.ErrBadSignature) {
		s.asrunBad.Add(1)
		s.RefuseSigned(ward, "asrun", err)
		return e, err
	}
	if err != nil {
		s.asrunBad.Add(1)
		if s.LogBad(ward, KindAsRun) {
			s.log.Warn("fleet: as-run message refused (at most one logged a minute per ward)", "ward", ward,
				"subject", fleet.AsRunSubject(ward), "err", err)
		}
		return e, err
	}
	return e, nil
}

// StoreAsRun stores as-run entries shipped by wards, in one transaction,
// and returns how many were new (an entry shipped again is stored once).
func (s *Service) StoreAsRun(ctx context.Context, es []fleet.AsRunEntry) (int, error) {
	now := s.now()
	rows := make([]sqlite.CityAsRun, len(es))
	for i, e := range es {
		rows[i] = sqlite.CityAsRun{Ward: e.Ward, WardEntry: e.ID, Program: e.Program, Source: e.Source, Occurrence: msTime(e.Occurrence),
			Part: e.Part, Item: e.Item, Kind: e.Kind, Planned: msTime(e.Planned), Actual: msTime(e.Actual), End: msTime(e.End),
			Result: e.Result, Missed: time.Duration(e.MissedMS) * time.Millisecond, Note: e.Note, ReceivedAt: now}
	}
	n, err := s.store.AddAsRun(ctx, rows)
	if err == nil {
		s.asrunIn.Add(uint64(n))
		s.asrunDup.Add(uint64(len(es) - n))
	}
	return n, err
}

func msTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// AsRunDay is ward's broadcast log for day d in the city's zone, as
// shipped by the ward.
func (s *Service) AsRunDay(ctx context.Context, ward string, d schedule.Date) (api.AsRunDay, error) {
	loc := s.cfg.Location
	rows, err := s.store.AsRun(ctx, ward, d.Midnight(loc), d.AddDays(1).Midnight(loc))
	if err != nil {
		return api.AsRunDay{}, fmt.Errorf("as-run of ward %s on %s: %w", ward, d, err)
	}
	out := api.AsRunDay{Ward: ward, Date: d.String(), Timezone: loc.String(), Entries: make([]api.AsRunRow, 0, len(rows))}
	for _, e := range rows {
		a := api.AsRunRow{Ward: e.Ward, Program: e.Program, Source: e.Source, Part: e.Part, Item: e.Item, Kind: e.Kind,
			Planned: e.Planned.UTC(), Result: e.Result, MissedS: e.Missed.Seconds(), Note: e.Note, Received: e.ReceivedAt.UTC()}
		if !e.Actual.IsZero() {
			t := e.Actual.UTC()
			a.Actual = &t
			a.LateMS = e.Actual.Sub(e.Planned).Milliseconds()
		}
		if !e.End.IsZero() {
			t := e.End.UTC()
			a.End = &t
		}
		out.Entries = append(out.Entries, a)
	}
	return out, nil
}
