package citybus

import (
	"github.com/prometheus/client_golang/prometheus"

	"loa/natsbus"
)

// The alert path's health on /metrics (docs/monitoring.md; the wards' use
// of NATS is the board's series, city/board). An alert rule on
// loa_city_alerts_publishable == 0 (or on
// increase(loa_city_alert_publish_errors_total[5m]) > 0) pages whoever
// can free the store or bring NATS back before the next storm.
var (
	descPublishable   = prometheus.NewDesc("loa_city_alerts_publishable", "1 when the city can store and publish alerts now (GET /healthz is 200), 0 when not.", nil, nil)
	descPubErrors     = prometheus.NewDesc("loa_city_alert_publish_errors_total", "Attempts to publish an alert copy that NATS refused or did not answer, by reason: store_full, no_stream, timeout, disconnected, other.", []string{"reason"}, nil)
	descUnpublished   = prometheus.NewDesc("loa_city_alert_copies_unpublished", "Copies of live alerts not in JetStream yet (retried every 2 s).", nil, nil)
	descSendFailed    = prometheus.NewDesc("loa_city_alert_sends_failed_total", "Alerts and cancels answered with an error because NATS did not take them (HTTP 503, loactl exit 1).", nil, nil)
	descBreakGlass    = prometheus.NewDesc("loa_city_alert_break_glass_total", "Alerts sent by break-glass, without the second person's approval the rule asked for (each is in the audit log as alert.break_glass).", nil, nil)
	descStoreUsed     = prometheus.NewDesc("loa_city_nats_store_used_bytes", "JetStream file store in use (embedded server; an external one when its account has a limit).", nil, nil)
	descStoreMax      = prometheus.NewDesc("loa_city_nats_store_max_bytes", "JetStream file store limit (max_store).", nil, nil)
	descStreamBytes   = prometheus.NewDesc("loa_city_nats_stream_bytes", "Bytes held by each of loa's streams.", []string{"stream"}, nil)
	descStreamMsgs    = prometheus.NewDesc("loa_city_nats_stream_messages", "Messages held by each of loa's streams.", []string{"stream"}, nil)
	descStreamMax     = prometheus.NewDesc("loa_city_nats_stream_max_bytes", "Each stream's MaxBytes: its reserved share of the store.", []string{"stream"}, nil)
	alertPubReasons   = []string{"store_full", "no_stream", "timeout", "disconnected", "other"}
	natsStreamsListed = []string{natsbus.StreamAlerts, natsbus.StreamReports, natsbus.StreamAsRun}
)

// Collector is the alert path's series over a, shown only while up
// reports the city's NATS side started.
func Collector(a Alerting, up func() bool) prometheus.Collector { return collector{a, up} }

type collector struct {
	a  Alerting
	up func() bool
}

func (n collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(n, ch) }

func (n collector) Collect(ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	ctr := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if !n.up() {
		return
	}
	g(descPublishable, b2f(len(n.a.Problems()) == 0))
	a := n.a.Health()
	for _, r := range alertPubReasons {
		ctr(descPubErrors, float64(a.Errors[r]), r)
	}
	g(descUnpublished, float64(a.Unpublished))
	ctr(descSendFailed, float64(a.SendFailed))
	ctr(descBreakGlass, float64(a.BreakGlass))
	if a.StoreMax > 0 {
		g(descStoreUsed, float64(a.StoreUsed))
		g(descStoreMax, float64(a.StoreMax))
	}
	for _, s := range natsStreamsListed {
		u, ok := a.Streams[s]
		if !ok {
			continue
		}
		g(descStreamBytes, float64(u.Bytes), s)
		g(descStreamMsgs, float64(u.Msgs), s)
		if u.MaxBytes > 0 {
			g(descStreamMax, float64(u.MaxBytes), s)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
