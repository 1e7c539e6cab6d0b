package alerting

import (
	"fmt"
	"maps"
	"sync"
	"time"
)

// health is whether alerts can be stored and published now: the outcome
// of the latest publishes, and of a look at the streams and the store
// every few seconds (the city's probe, Probed).
type health struct {
	mu          sync.Mutex
	pubErr      error // the latest failure of a copy still unpublished
	pubErrAt    time.Time
	unpublished int // copies of live alerts not in JetStream
	errors      map[string]uint64
	sendFailed  uint64 // sends and cancels answered with ErrAlertNotPublished
	probed      bool
	probeErr    error // ALERTS not reachable
	storeUsed   int64
	storeMax    int64 // 0: unknown
	streams     map[string]StreamUsage
}

// StreamUsage is what a stream holds and may hold.
type StreamUsage struct {
	Msgs, Bytes uint64
	MaxBytes    int64
}

// Probe is what the city saw of its streams and store.
type Probe struct {
	// AlertsErr: the stream ALERTS did not answer.
	AlertsErr error
	Streams   map[string]StreamUsage
	// StoreUsed and StoreMax are the JetStream store's use and limit
	// (0: unknown).
	StoreUsed, StoreMax int64
}

// Health is the alert path's health as counted (metrics).
type Health struct {
	// Errors counts the failed publishes by reason.
	Errors      map[string]uint64
	Unpublished int
	SendFailed  uint64
	StoreUsed   int64
	StoreMax    int64
	Streams     map[string]StreamUsage
	// BreakGlass counts the alerts sent without a second person's
	// approval since the city started (the two-person rule's break-glass).
	BreakGlass uint64
}

func (a *health) failed(reason string, err error, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.errors == nil {
		a.errors = map[string]uint64{}
	}
	a.errors[reason]++
	a.pubErr, a.pubErrAt = err, now
}

// round records the outcome of a publishing round over every pending
// copy.
func (a *health) round(left int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.unpublished = left
	if left == 0 {
		a.pubErr = nil
	}
}

func (a *health) lastErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pubErr
}

// Probed records what the city's look at its streams and store found.
func (s *Service) Probed(p Probe) {
	a := &s.health
	a.mu.Lock()
	a.probed, a.probeErr, a.streams, a.storeUsed, a.storeMax = true, p.AlertsErr, p.Streams, p.StoreUsed, p.StoreMax
	a.mu.Unlock()
}

// Health returns the alert path's counts.
func (s *Service) Health() Health {
	a := &s.health
	a.mu.Lock()
	defer a.mu.Unlock()
	return Health{Errors: maps.Clone(a.errors), Unpublished: a.unpublished, SendFailed: a.sendFailed,
		StoreUsed: a.storeUsed, StoreMax: a.storeMax, Streams: maps.Clone(a.streams), BreakGlass: s.breakGlassCount.Load()}
}

// Problems says why alerts cannot be stored or published now (none: they
// can, or the city's NATS is not started). Each problem is Vietnamese
// first, English beside it.
func (s *Service) Problems() []string {
	pub := s.publisher()
	if pub == nil {
		return nil
	}
	ps := pub.Problems()
	a := &s.health
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.unpublished > 0 && a.pubErr != nil {
		ps = append(ps, fmt.Sprintf("%d bản cảnh báo chưa gửi được / %d alert copies not published: %v (since %s)",
			a.unpublished, a.unpublished, a.pubErr, a.pubErrAt.UTC().Format(time.RFC3339)))
	}
	if a.probeErr != nil {
		ps = append(ps, fmt.Sprintf("luồng ALERTS không trả lời / stream ALERTS: %v", a.probeErr))
	}
	if a.storeMax > 0 && a.storeUsed >= a.storeMax {
		ps = append(ps, fmt.Sprintf("kho JetStream đầy / JetStream store full: %d of %d MiB used, no alert can be stored",
			a.storeUsed>>20, a.storeMax>>20))
	}
	return ps
}
