package agent

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"loa/fleet"
	"loa/signing"
	"loa/sqlite"
)

// shipEvery is how often the as-run log is looked at for entries the city
// does not have yet; shipBatch how many go in one round.
const (
	shipEvery = 2 * time.Second
	shipBatch = 200
)

// ship sends the as-run entries the city has not acknowledged, oldest
// first, and marks those its stream stored. Entries stay in the ward's
// database until then (and after, for the retention period): a ward
// offline for a week ships its week when it is back.
func (r *reporter) ship(ctx context.Context) {
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		n, err := r.shipOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			wait = min(max(2*wait, shipEvery), time.Minute)
		case n == shipBatch:
			wait = 0 // more waiting
		default:
			wait = shipEvery
		}
	}
}

// shipOnce ships one batch and returns how many entries it sent.
func (r *reporter) shipOnce(ctx context.Context) (int, error) {
	db := r.d.st.DB
	rows, err := db.UnshippedAsRun(ctx, shipBatch)
	if err == nil && len(rows) > 0 && r.tr.State().Connected {
		err = r.publish(ctx, rows)
	}
	pending, cerr := sqlite.Fleet(db).CountUnshipped(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if cerr == nil {
		r.unshipped = pending
	}
	if err != nil {
		if r.shipErr == "" {
			r.d.Log.Warn("as-run not shipped to the city; kept until it is", "err", err, "pending", pending)
		}
		r.shipErr = err.Error()
		return 0, err
	}
	r.shipErr = ""
	return len(rows), nil
}

func (r *reporter) publish(ctx context.Context, rows []sqlite.AsRunEntry) error {
	msgs := make([]AsRunMessage, len(rows))
	for i, e := range rows {
		m := AsRunToFleet(r.d.Cfg.Ward, e)
		data, err := json.Marshal(m)
		if err == nil && r.d.receiptKey != nil {
			data, err = signing.SignJSON(r.d.receiptKey, data) // the city reads only what the ward's key signed
		}
		if err != nil {
			return err
		}
		msgs[i] = AsRunMessage{ID: m.MsgID(), Data: data}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	errs := r.tr.PublishAsRun(ctx, msgs)
	var acked []int64
	var first error
	for i, err := range errs {
		if err == nil {
			acked = append(acked, rows[i].ID)
		} else if first == nil {
			first = err
		}
	}
	if len(errs) != len(rows) && first == nil {
		first = errors.New("the transport answered for fewer entries than sent")
	}
	if err := r.d.st.DB.MarkShipped(context.WithoutCancel(ctx), acked); err != nil {
		return err
	}
	if len(acked) > 0 {
		r.mu.Lock()
		r.shippedAt = r.d.wall()
		r.mu.Unlock()
		r.d.Log.Debug("as-run shipped to the city", "entries", len(acked))
	}
	return first
}

// AsRunToFleet is a stored as-run entry as shipped.
func AsRunToFleet(ward string, e sqlite.AsRunEntry) fleet.AsRunEntry {
	return fleet.AsRunEntry{Ward: ward, ID: e.ID, Program: e.Program, Source: e.Source, Occurrence: msOrZero(e.Occurrence),
		Part: e.Part, Item: e.Item, Kind: e.Kind, Planned: msOrZero(e.Planned), Actual: msOrZero(e.Actual), End: msOrZero(e.End),
		Result: e.Result, MissedMS: e.Missed.Milliseconds(), Note: e.Note}
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
