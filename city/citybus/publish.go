package citybus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"loa/alert"
	"loa/city/alerting"
	"loa/natsbus"
)

// The bus is city/alerting's Publisher: alert copies on JetStream
// (ALERTS), live announcements on core NATS.

// AlertSubjects are the subjects of an alert's copies (natsbus).
func (b *Bus) AlertSubjects(t alert.Targets, recipients []string) []string {
	return natsbus.AlertSubjects(t.All, t.Wards, t.Groups, recipients)
}

// LiveSubjects are the subjects of a live announcement (natsbus).
func (b *Bus) LiveSubjects(t alert.Targets, recipients []string) []string {
	return natsbus.LiveSubjects(t.All, recipients)
}

// Announce publishes a live message on core NATS.
func (b *Bus) Announce(subject string, msg []byte) error {
	return b.link.Conn.Publish(subject, msg)
}

// PublishCopies publishes copies to JetStream, pipelined, then awaits
// their acknowledgements, for 3 s at most. After a copy fails on a link
// that is down, the rest are not tried.
func (b *Bus) PublishCopies(ctx context.Context, copies []alerting.Copy) alerting.Round {
	type inFlight struct {
		cp  alerting.Copy
		fut jetstream.PubAckFuture
	}
	var r alerting.Round
	var flights []inFlight
	for _, cp := range copies {
		if r.Left > 0 && !b.link.Conn.IsConnected() {
			r.Left++
			continue
		}
		fut, err := b.js.PublishAsync(cp.Subject, cp.Envelope, jetstream.WithMsgID(cp.Alert+"|"+cp.Subject))
		if err != nil {
			r.Left++
			r.Errs = append(r.Errs, err)
			b.log.Debug("alert copy not published yet", "alert", cp.Alert, "subject", cp.Subject, "err", err)
			continue
		}
		flights = append(flights, inFlight{cp, fut})
	}
	timeout := time.NewTimer(3 * time.Second)
	defer timeout.Stop()
wait:
	for i, f := range flights {
		select {
		case ack := <-f.fut.Ok():
			r.Acked = append(r.Acked, alerting.Published{Alert: f.cp.Alert, Subject: f.cp.Subject, Seq: ack.Sequence})
		case err := <-f.fut.Err():
			r.Left++
			r.Errs = append(r.Errs, err)
			b.log.Debug("alert copy not published yet", "alert", f.cp.Alert, "subject", f.cp.Subject, "err", err)
		case <-timeout.C:
			r.Left += len(flights) - i
			r.Errs = append(r.Errs, fmt.Errorf("no acknowledgement of %d alert copies within 3 s: %w", len(flights)-i, context.DeadlineExceeded))
			break wait
		case <-ctx.Done():
			r.Left += len(flights) - i
			break wait
		}
	}
	return r
}

// Reason sorts a publish error into a metric label.
func (b *Bus) Reason(err error) string { return publishReason(err) }

// publishReason sorts a publish error into a metric label.
func publishReason(err error) string {
	var apiErr *jetstream.APIError
	switch {
	case errors.As(err, &apiErr) && (apiErr.ErrorCode == 10023 || apiErr.ErrorCode == 10047 || strings.Contains(apiErr.Description, "insufficient")):
		return "store_full"
	case strings.Contains(err.Error(), "insufficient") || strings.Contains(err.Error(), "resources exceeded"):
		return "store_full"
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders):
		return "no_stream"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return "timeout"
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrConnectionReconnecting):
		return "disconnected"
	}
	return "other"
}

// Problems says why the city's NATS cannot take alerts now: streams not
// set up, link down.
func (b *Bus) Problems() []string {
	var ps []string
	b.mu.Lock()
	setupErr := b.setupErr
	b.mu.Unlock()
	select {
	case <-b.ready:
	default:
		ps = append(ps, fmt.Sprintf("luồng NATS chưa sẵn sàng / NATS streams not set up: %v", orNone(setupErr)))
	}
	if !b.link.Conn.IsConnected() {
		ps = append(ps, "mất kết nối NATS / not connected to NATS: "+b.link.Conn.Status().String())
	}
	return ps
}

func orNone(err error) any {
	if err == nil {
		return "starting"
	}
	return err
}
