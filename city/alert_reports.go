package city

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/alert"
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

// reportIntake reads the wards' receipts from REPORTS through the city's
// durable consumer: receipts sent while the city was down wait there.
func (c *City) reportIntake(ctx context.Context) {
	h := c.alerts
	select {
	case <-ctx.Done():
		return
	case <-h.ready:
	}
	wait := 500 * time.Millisecond
	for ctx.Err() == nil {
		var cons jetstream.Consumer
		last, err := c.DB.Read().LastReportSeq(ctx)
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			cons, err = natsbus.EnsureConsumer(cctx, h.js, natsbus.StreamReports, natsbus.CityReportConsumer(last+1))
			cancel()
		}
		var cc jetstream.ConsumeContext
		if err == nil {
			cc, err = cons.Consume(func(m jetstream.Msg) { c.takeReport(ctx, m) },
				jetstream.PullMaxMessages(1000), jetstream.PullHeartbeat(5*time.Second),
				jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
					c.Log.Debug("receipt intake", "err", err)
				}))
		}
		if err != nil {
			c.Log.Warn("receipt intake not ready; retrying", "err", err, "in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(wait*2, 10*time.Second)
			continue
		}
		wait = 500 * time.Millisecond
		select {
		case <-ctx.Done():
			cc.Stop()
			return
		case <-cc.Closed():
			c.Log.Warn("receipt intake stopped; starting again")
		}
	}
}

func (c *City) takeReport(ctx context.Context, m jetstream.Msg) {
	ward, ok := natsbus.ReportWard(m.Subject())
	var seq uint64
	if md, err := m.Metadata(); err == nil {
		seq = md.Sequence.Stream
	}
	if ok && !c.allowFromWard(ward, kindReport) {
		select {
		case c.alerts.reports <- reportMsg{msg: m, rep: sqlite.AlertReport{StreamSeq: seq}, drop: true}:
		case <-ctx.Done():
		}
		return
	}
	r, err := alert.DecodeReport(m.Data())
	if !ok || err != nil {
		if c.bus.logBad(ward, kindReport, c.Now()) {
			c.Log.Warn("unreadable receipt dropped (at most one logged a minute per ward)", "ward", ward, "subject", m.Subject(), "err", err)
		}
		m.Term()
		return
	}
	if r.State == alert.Rejected {
		c.Log.Warn("a ward rejected an alert", "ward", ward, "alert", r.Alert, "verified", r.Verified, "reason", r.Reason)
	} else {
		c.Log.Debug("alert receipt", "ward", ward, "alert", r.Alert, "state", r.String())
	}
	rep := sqlite.AlertReport{Alert: r.Alert, Verified: r.Verified, Ward: ward, State: string(r.State), Reason: r.Reason,
		At: r.At, FetchMS: r.FetchMS, ReceivedAt: c.Now(), StreamSeq: seq}
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
		wctx := context.WithoutCancel(ctx)
		err := c.DB.Update(wctx, func(tx sqlite.CityTx) error {
			for _, b := range batch {
				if b.drop {
					continue
				}
				if err := tx.AddAlertReport(wctx, b.rep); err != nil {
					return err
				}
			}
			return nil
		})
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
