package alertrx

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"loa/sqlite"
)

// heldAlertState is what the database refused of an alert (a full disk):
// replay records, state changes and receipts, kept in memory, in order,
// and written again every Config.HeldRetryEvery until the database takes them.
// The replay guard holds meanwhile from memory (Receiver.seen), and
// held receipts are sent to the city straight from here: a full card
// costs neither a second playing nor the city's "finished".
type heldAlertState struct {
	mu       sync.Mutex
	seen     []sqlite.SeenAlert
	states   map[string]string // alert id → state not written yet
	receipts []*heldReceipt
}

type heldReceipt struct {
	alert string
	body  []byte
}

// count is how many writes wait.
func (h *heldAlertState) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen) + len(h.states) + len(h.receipts)
}

// storeSeen writes an alert's replay record, or holds it.
func (r *Receiver) storeSeen(ctx context.Context, s sqlite.SeenAlert) {
	h := &r.held
	h.mu.Lock()
	defer h.mu.Unlock()
	err := r.cfg.DB.AddSeenAlert(context.WithoutCancel(ctx), s)
	if err == nil || errors.Is(err, sqlite.ErrExists) {
		return
	}
	h.seen = append(h.seen, s)
	r.log.Error("alert replay record not stored: held in memory and retried; the id stays refused", "alert", s.ID, "err", err)
}

// storeState records where an accepted alert stands, or holds it.
func (r *Receiver) storeState(ctx context.Context, id, state string) {
	h := &r.held
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.seen {
		if h.seen[i].ID == id {
			h.seen[i].State = state // written with the record
			return
		}
	}
	if err := r.cfg.DB.SetSeenAlertState(context.WithoutCancel(ctx), id, state); err != nil {
		if h.states == nil {
			h.states = map[string]string{}
		}
		h.states[id] = state
		r.log.Error("alert state not stored: held in memory and retried", "alert", id, "state", state, "err", err)
		return
	}
	delete(h.states, id)
}

// queueReport puts a receipt in the outbox table, or holds it: behind
// receipts held already (they keep their order), or when the table
// refuses it.
func (r *Receiver) queueReport(ctx context.Context, id string, body []byte) {
	h := &r.held
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.receipts) == 0 {
		_, err := r.cfg.DB.QueueReport(context.WithoutCancel(ctx), body)
		if err == nil {
			return
		}
		r.log.Error("alert receipt not queued on disk: held in memory, sent from there and retried", "alert", id, "err", err)
	}
	h.receipts = append(h.receipts, &heldReceipt{alert: id, body: body})
}

// heldReceipts are the receipts held in memory, oldest first.
func (r *Receiver) heldReceipts() []*heldReceipt {
	r.held.mu.Lock()
	defer r.held.mu.Unlock()
	return slices.Clone(r.held.receipts)
}

// receiptSent forgets a held receipt the city has.
func (r *Receiver) receiptSent(q *heldReceipt) {
	r.held.mu.Lock()
	defer r.held.mu.Unlock()
	r.held.receipts = slices.DeleteFunc(r.held.receipts, func(x *heldReceipt) bool { return x == q })
}

// flushHeld writes what is held, in order, until a write fails; it
// returns how many still wait.
func (r *Receiver) flushHeld(ctx context.Context) int {
	h := &r.held
	h.mu.Lock()
	defer h.mu.Unlock()
	db := r.cfg.DB
	left := func() int { return len(h.seen) + len(h.states) + len(h.receipts) }
	for len(h.seen) > 0 {
		err := db.AddSeenAlert(ctx, h.seen[0])
		if err != nil && !errors.Is(err, sqlite.ErrExists) {
			return left()
		}
		if errors.Is(err, sqlite.ErrExists) {
			// Stored by an earlier try whose answer was lost: the state
			// kept here is the newer.
			if err := db.SetSeenAlertState(ctx, h.seen[0].ID, h.seen[0].State); err != nil {
				return left()
			}
		}
		r.log.Info("alert replay record stored", "alert", h.seen[0].ID, "state", h.seen[0].State)
		h.seen = h.seen[1:]
	}
	for id, state := range h.states {
		if err := db.SetSeenAlertState(ctx, id, state); err != nil {
			return left()
		}
		delete(h.states, id)
	}
	queued := false
	for len(h.receipts) > 0 {
		if _, err := db.QueueReport(ctx, h.receipts[0].body); err != nil {
			break
		}
		h.receipts = h.receipts[1:]
		queued = true
	}
	if queued {
		r.wakeSender()
	}
	return left()
}

// retryHeld writes the held alert state again every Config.HeldRetryEvery until
// ctx ends.
func (r *Receiver) retryHeld(ctx context.Context) {
	tick := time.NewTicker(r.cfg.HeldRetryEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if r.held.count() == 0 {
			continue
		}
		if n := r.flushHeld(ctx); n == 0 {
			r.log.Info("alert state held in memory is stored now")
		}
	}
}
