package city

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsHandler is /metrics, built on first use.
type metricsHandler struct {
	once sync.Once
	h    http.Handler
}

// getMetrics is GET /metrics (any user's token: Prometheus sends one with
// `authorization: {credentials_file: ...}`). The registry is built once:
// the board's series (city/board: wards, bus watch, identity), the alert
// path's (metrics_nats.go) and the process's own.
func (c *City) getMetrics(w http.ResponseWriter, r *http.Request, p principal) {
	m := &c.metrics
	m.once.Do(func() {
		reg := prometheus.NewRegistry()
		reg.MustRegister(c.board.Collector(), natsCollector{c}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		m.h = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	})
	m.h.ServeHTTP(w, r)
}
