package city

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/city/alerting"
	"loa/natsbus"
	"loa/sqlite"
)

// reportMsg is a receipt taken from REPORTS, waiting to be written.
type reportMsg struct {
	msg jetstream.Msg
	rep sqlite.AlertReport
	// drop: not recorded (over the ward's budget), only acknowledged with
	// the batch (the consumer acknowledges all up to a sequence).
	drop bool
}

// The receipt consumer: the NATS side of city/alerting's receipts intake.

// reportIntake reads the wards' receipts from REPORTS through the city's
// durable consumer: receipts sent while the city was down wait there. The
// consumer starts after the last receipt recorded, and is read by the one
// consume-and-restart loop (natsbus.ConsumeLoop) the wards use too.
func (c *City) reportIntake(ctx context.Context) {
	h := c.alerts
	select {
	case <-ctx.Done():
		return
	case <-h.ready:
	}
	natsbus.ConsumeLoop{
		Name: "receipt intake",
		Consumer: func(ctx context.Context) (jetstream.Consumer, error) {
			last, err := c.Alerting.LastReceiptSeq(ctx)
			if err != nil {
				return nil, err
			}
			return natsbus.EnsureConsumer(ctx, h.js, natsbus.StreamReports, natsbus.CityReportConsumer(last+1))
		},
		Handle:   func(m jetstream.Msg) { c.takeReport(ctx, m) },
		Pull:     []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(1000), jetstream.PullHeartbeat(5 * time.Second)},
		RetryMin: 500 * time.Millisecond,
		Log:      c.Log,
	}.Run(ctx)
}

func (c *City) takeReport(ctx context.Context, m jetstream.Msg) {
	ward, ok := natsbus.ReportWard(m.Subject())
	var seq uint64
	var stored time.Time
	if md, err := m.Metadata(); err == nil {
		seq = md.Sequence.Stream
		stored = md.Timestamp
	}
	if !ok {
		c.Log.Warn("receipt on a strange subject dropped", "subject", m.Subject())
		m.Term()
		return
	}
	// The ward's budget first (city/bus_watch.go): a flooding ward costs
	// no signature check and no database write.
	if !c.allowFromWard(ward, kindReport) {
		select {
		case c.alerts.reports <- reportMsg{msg: m, rep: sqlite.AlertReport{StreamSeq: seq}, drop: true}:
		case <-ctx.Done():
		}
		return
	}
	// Only a receipt signed by the ward's own key is read (city/alerting).
	rep, err := c.Alerting.OpenReceipt(ctx, ward, m.Data(), seq)
	var keyErr *alerting.KeyError
	if errors.As(err, &keyErr) {
		c.Log.Warn("receipt: the ward's key not read; NATS will deliver it again", "ward", ward, "err", keyErr.Err)
		m.NakWithDelay(2 * time.Second)
		return
	}
	if alerting.Forged(err) {
		c.refuseSigned(ward, "receipt", err)
		m.Term()
		return
	}
	if err != nil {
		if c.board.LogBad(ward, kindReport) {
			c.Log.Warn("unreadable receipt dropped (at most one logged a minute per ward)", "ward", ward, "subject", m.Subject(), "err", err)
		}
		m.Term()
		return
	}
	if rep.Verified {
		// Judged against the heartbeats: only receipts stored while the
		// city was taking them (fleet/identity.go).
		if since := c.board.HeartbeatsSince(); since.IsZero() || stored.Before(since) {
			stored = time.Time{}
		}
		c.Board().Receipt(ward, rep.Alert, rep.State, rep.At, stored, c.Now())
	}
	select {
	case c.alerts.reports <- reportMsg{msg: m, rep: rep}:
	case <-ctx.Done():
	}
}

// reportWriter writes receipts in batches (one transaction, one sync, for
// up to 500 or 50 ms of them: a thousand wards answer within the same
// second) and acknowledges them once they are in the database: the last
// of a batch, which acknowledges all before it.
func (c *City) reportWriter(ctx context.Context) {
	h := c.alerts
	var batch []reportMsg
	flush := func() {
		if len(batch) == 0 {
			return
		}
		reps := make([]sqlite.AlertReport, 0, len(batch))
		for _, b := range batch {
			if !b.drop {
				reps = append(reps, b.rep)
			}
		}
		err := c.Alerting.RecordReceipts(context.WithoutCancel(ctx), reps)
		if err != nil {
			for _, b := range batch {
				b.msg.NakWithDelay(2 * time.Second)
			}
		} else {
			last := batch[0]
			for _, b := range batch[1:] {
				if b.rep.StreamSeq > last.rep.StreamSeq {
					last = b
				}
			}
			last.msg.Ack()
		}
		if err != nil {
			c.Log.Error("receipts not recorded; NATS will deliver them again", "n", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			flush()
			return
		case m := <-h.reports:
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
