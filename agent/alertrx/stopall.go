package alertrx

import "context"

// CancelAll cancels every alert accepted and not ended (the city's
// stop_all command, by its id): each is reported cancelled, as if a
// signed Cancel had named it. It returns how many.
func (r *Receiver) CancelAll(ctx context.Context, by string) int {
	r.mu.Lock()
	ids := make([]string, 0, len(r.active))
	for id, act := range r.active {
		if !act.cancelled {
			ids = append(ids, id)
		}
	}
	r.mu.Unlock()
	for _, id := range ids {
		r.stop(ctx, id, by)
	}
	return len(ids)
}
