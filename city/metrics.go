package city

import (
	"sync"

	"loa/city/citybus"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// metricsRegistry is what GET /metrics exposes (city/httpapi serves it to
// any user's token): the board's series (city/board: wards, bus watch,
// identity), the alert path's (city/citybus) and the process's own.
//
// It is built at the first scrape, not at Open: registering a collector
// collects it once (prometheus.DescribeByCollect), which would load the
// board before the city has its wards and describe none of their series.
type metricsRegistry struct {
	c    *City
	once sync.Once
	reg  *prometheus.Registry
}

func (m *metricsRegistry) Gather() ([]*dto.MetricFamily, error) {
	m.once.Do(func() {
		m.reg = prometheus.NewRegistry()
		m.reg.MustRegister(m.c.board.Collector(), m.c.notify.out.Collector(), m.c.notify.svc.Collector(), citybus.Collector(m.c.Alerting, func() bool { return m.c.alerts != nil }), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	})
	return m.reg.Gather()
}
