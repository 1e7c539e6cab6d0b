package citybus

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/city/alerting"
	"loa/city/board"
	"loa/natsbus"
)

// The receipt consumer: the NATS side of city/alerting's receipts intake.

// reportMsg is a receipt taken from REPORTS, waiting to be written.
type reportMsg struct {
	msg jetstream.Msg
	rep alerting.Receipt
	// drop: not recorded (over the ward's budget), only acknowledged with
	// the batch (the consumer acknowledges all up to a sequence).
	drop bool
}

// reportIntake reads the wards' receipts from REPORTS through the city's
// durable consumer: receipts sent while the city was down wait there. The
// consumer starts after the last receipt recorded, and is read by the one
// consume-and-restart loop (natsbus.ConsumeLoop) the wards use too.
func (b *Bus) reportIntake(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-b.ready:
	}
	natsbus.ConsumeLoop{
		Name: "receipt intake",
		Consumer: func(ctx context.Context) (jetstream.Consumer, error) {
			last, err := b.svc.Alerting.LastReceiptSeq(ctx)
			if err != nil {
				return nil, err
			}
			return natsbus.EnsureConsumer(ctx, b.js, natsbus.StreamReports, natsbus.CityReportConsumer(last+1))
		},
		Handle:   func(m jetstream.Msg) { b.takeReport(ctx, m) },
		Pull:     []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(1000), jetstream.PullHeartbeat(5 * time.Second)},
		RetryMin: 500 * time.Millisecond,
		Log:      b.log,
	}.Run(ctx)
}

func (b *Bus) takeReport(ctx context.Context, m jetstream.Msg) {
	ward, ok := natsbus.ReportWard(m.Subject())
	var seq uint64
	var stored time.Time
	if md, err := m.Metadata(); err == nil {
		seq = md.Sequence.Stream
		stored = md.Timestamp
	}
	if !ok {
		b.log.Warn("receipt on a strange subject dropped", "subject", m.Subject())
		m.Term()
		return
	}
	// The ward's budget first (city/board's bus watch): a flooding ward
	// costs no signature check and no database write.
	if !b.svc.Board.Allow(ward, board.KindReport) {
		select {
		case b.reports <- reportMsg{msg: m, rep: alerting.Receipt{StreamSeq: seq}, drop: true}:
		case <-ctx.Done():
		}
		return
	}
	// Only a receipt signed by the ward's own key is read (city/alerting).
	rep, err := b.svc.Alerting.OpenReceipt(ctx, ward, m.Data(), seq)
	var keyErr *alerting.KeyError
	if errors.As(err, &keyErr) {
		b.log.Warn("receipt: the ward's key not read; NATS will deliver it again", "ward", ward, "err", keyErr.Err)
		m.NakWithDelay(2 * time.Second)
		return
	}
	if alerting.Forged(err) {
		b.svc.Board.RefuseSigned(ward, "receipt", err)
		m.Term()
		return
	}
	if err != nil {
		if b.svc.Board.LogBad(ward, board.KindReport) {
			b.log.Warn("unreadable receipt dropped (at most one logged a minute per ward)", "ward", ward, "subject", m.Subject(), "err", err)
		}
		m.Term()
		return
	}
	if rep.Verified {
		// Judged against the heartbeats: only receipts stored while the
		// city was taking them (fleet/identity.go).
		if since := b.svc.Board.HeartbeatsSince(); since.IsZero() || stored.Before(since) {
			stored = time.Time{}
		}
		b.svc.Board.Board().Receipt(ward, rep.Alert, rep.State, rep.At, stored, b.svc.Now())
	}
	select {
	case b.reports <- reportMsg{msg: m, rep: rep}:
	case <-ctx.Done():
	}
}

// reportWriter writes receipts in batches (one transaction, one sync, for
// up to 500 or 50 ms of them: a thousand wards answer within the same
// second) and acknowledges them once they are in the database: the last
// of a batch, which acknowledges all before it.
func (b *Bus) reportWriter(ctx context.Context) {
	var batch []reportMsg
	flush := func() {
		b.writeReports(ctx, batch)
		batch = batch[:0]
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			flush()
			return
		case m := <-b.reports:
			if len(batch) == 0 {
				timer.Reset(50 * time.Millisecond)
			}
			batch = append(batch, m)
			if len(batch) >= 500 {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}

// writeReports records one batch and acknowledges its last message (all
// of them: the consumer acknowledges up to a sequence), or asks for all
// of them again.
func (b *Bus) writeReports(ctx context.Context, batch []reportMsg) {
	if len(batch) == 0 {
		return
	}
	reps := make([]alerting.Receipt, 0, len(batch))
	for _, m := range batch {
		if !m.drop {
			reps = append(reps, m.rep)
		}
	}
	err := b.svc.Alerting.RecordReceipts(context.WithoutCancel(ctx), reps)
	if err != nil {
		for _, m := range batch {
			m.msg.NakWithDelay(2 * time.Second)
		}
	} else {
		last := batch[0]
		for _, m := range batch[1:] {
			if m.rep.StreamSeq > last.rep.StreamSeq {
				last = m
			}
		}
		last.msg.Ack()
	}
	if err != nil {
		b.log.Error("receipts not recorded; NATS will deliver them again", "n", len(batch), "err", err)
	}
}
