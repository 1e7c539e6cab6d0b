package city

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"loa/natsbus"
)

// ErrAlertNotPublished is returned when an alert (or a cancel) was
// recorded and signed but NATS did not take every copy within the send's
// deadline: it is NOT on its way to the wards. The city keeps trying in
// the background; the operator is told loudly (HTTP 503, loactl exit 1),
// the metric loa_city_alert_publish_errors_total counts it and /healthz
// reports it until it goes out.
var ErrAlertNotPublished = errors.New("alert not published")

// notPublished is ErrAlertNotPublished for one alert.
type notPublished struct {
	id      string
	pending int
	cause   error
}

func (e *notPublished) Error() string {
	cause := "NATS did not answer"
	if e.cause != nil {
		cause = e.cause.Error()
	}
	return fmt.Sprintf("cảnh báo %s đã lưu nhưng CHƯA gửi được tới các phường (%d bản chưa gửi) / alert %s recorded but NOT sent: "+
		"NATS did not take %d of its copies: %s; the city keeps trying (loactl alert status %s)", e.id, e.pending, e.id, e.pending, cause, e.id)
}

func (e *notPublished) Unwrap() error { return ErrAlertNotPublished }

// alertHealth is whether alerts can be stored and published now: the
// outcome of the latest publishes, and of a look at the streams and the
// store every few seconds (probeAlerts).
type alertHealth struct {
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
	streams     map[string]streamUsage
}

type streamUsage struct {
	msgs, bytes uint64
	maxBytes    int64
}

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

func (a *alertHealth) failed(err error, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.errors == nil {
		a.errors = map[string]uint64{}
	}
	a.errors[publishReason(err)]++
	a.pubErr, a.pubErrAt = err, now
}

// round records the outcome of a publishing round over every pending
// copy.
func (a *alertHealth) round(left int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.unpublished = left
	if left == 0 {
		a.pubErr = nil
	}
}

func (a *alertHealth) lastErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pubErr
}

// probeAlerts looks at the streams and the store: ALERTS must answer, and
// the store must have room (a full store refuses every message, alerts
// included). ALERTS gone (deleted by hand) is made again.
func (c *City) probeAlerts(ctx context.Context) {
	h := c.alerts
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	streams := map[string]streamUsage{}
	var alertsErr error
	for _, name := range []string{natsbus.StreamAlerts, natsbus.StreamReports, natsbus.StreamAsRun} {
		s, err := h.js.Stream(ctx, name)
		if err != nil {
			if name == natsbus.StreamAlerts {
				alertsErr = err
			}
			continue
		}
		info := s.CachedInfo()
		streams[name] = streamUsage{msgs: info.State.Msgs, bytes: info.State.Bytes, maxBytes: info.Config.MaxBytes}
	}
	if errors.Is(alertsErr, jetstream.ErrStreamNotFound) {
		c.Log.Error("stream ALERTS is gone; making the streams again", "err", alertsErr)
		if err := natsbus.EnsureStreams(ctx, h.js, c.streamOptions()); err != nil {
			alertsErr = fmt.Errorf("%w; made again: %v", alertsErr, err)
		} else {
			alertsErr = nil
			h.mu.Lock()
			clear(h.consumers) // gone with the stream
			h.mu.Unlock()
			h.poke(h.wardsCh)
		}
	}
	var used, maxStore int64
	if h.srv != nil {
		if jsz, err := h.srv.Jsz(&server.JSzOptions{}); err == nil {
			used, maxStore = int64(jsz.Store), jsz.Config.MaxStore
		}
	} else if ai, err := h.js.AccountInfo(ctx); err == nil && ai.Limits.MaxStore > 0 {
		used, maxStore = int64(ai.Store), ai.Limits.MaxStore
	}
	a := &h.health
	a.mu.Lock()
	a.probed, a.probeErr, a.streams, a.storeUsed, a.storeMax = true, alertsErr, streams, used, maxStore
	a.mu.Unlock()
}

// AlertProblems says why alerts cannot be stored or published now (none:
// they can). Each problem is Vietnamese first, English beside it.
func (c *City) AlertProblems() []string {
	h := c.alerts
	if h == nil {
		return nil
	}
	var ps []string
	h.mu.Lock()
	setupErr := h.setupErr
	h.mu.Unlock()
	select {
	case <-h.ready:
	default:
		ps = append(ps, fmt.Sprintf("luồng NATS chưa sẵn sàng / NATS streams not set up: %v", orNone(setupErr)))
	}
	if !h.link.Conn.IsConnected() {
		ps = append(ps, "mất kết nối NATS / not connected to NATS: "+h.link.Conn.Status().String())
	}
	a := &h.health
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

func orNone(err error) any {
	if err == nil {
		return "starting"
	}
	return err
}

// getHealthz is GET /healthz (no token): 200 "ok" when the city can send
// alerts, else 503 with one problem a line. A monitor (or a load
// balancer) needs no more than the status.
func (c *City) getHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ps := c.AlertProblems()
	if len(ps) == 0 {
		w.Write([]byte("ok\n"))
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte("KHÔNG GỬI ĐƯỢC CẢNH BÁO / ALERTS CANNOT BE SENT\n" + strings.Join(ps, "\n") + "\n"))
}
