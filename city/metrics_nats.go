package city

import (
	"github.com/prometheus/client_golang/prometheus"

	"loa/fleet"
	"loa/natsbus"
)

// The alert path's health and the wards' use of NATS on /metrics
// (docs/monitoring.md). An alert rule on loa_city_alerts_publishable == 0
// (or on increase(loa_city_alert_publish_errors_total[5m]) > 0) pages
// whoever can free the store or bring NATS back before the next storm.
var (
	descPublishable   = prometheus.NewDesc("loa_city_alerts_publishable", "1 when the city can store and publish alerts now (GET /healthz is 200), 0 when not.", nil, nil)
	descPubErrors     = prometheus.NewDesc("loa_city_alert_publish_errors_total", "Attempts to publish an alert copy that NATS refused or did not answer, by reason: store_full, no_stream, timeout, disconnected, other.", []string{"reason"}, nil)
	descUnpublished   = prometheus.NewDesc("loa_city_alert_copies_unpublished", "Copies of live alerts not in JetStream yet (retried every 2 s).", nil, nil)
	descSendFailed    = prometheus.NewDesc("loa_city_alert_sends_failed_total", "Alerts and cancels answered with an error because NATS did not take them (HTTP 503, loactl exit 1).", nil, nil)
	descStoreUsed     = prometheus.NewDesc("loa_city_nats_store_used_bytes", "JetStream file store in use (embedded server; an external one when its account has a limit).", nil, nil)
	descStoreMax      = prometheus.NewDesc("loa_city_nats_store_max_bytes", "JetStream file store limit (max_store).", nil, nil)
	descStreamBytes   = prometheus.NewDesc("loa_city_nats_stream_bytes", "Bytes held by each of loa's streams.", []string{"stream"}, nil)
	descStreamMsgs    = prometheus.NewDesc("loa_city_nats_stream_messages", "Messages held by each of loa's streams.", []string{"stream"}, nil)
	descStreamMax     = prometheus.NewDesc("loa_city_nats_stream_max_bytes", "Each stream's MaxBytes: its reserved share of the store.", []string{"stream"}, nil)
	descDenied        = prometheus.NewDesc("loa_city_nats_denied_total", "Attempts of the ward's NATS key the server refused for lack of permission (embedded server) since the city started.", []string{"ward"}, nil)
	descFloodDropped  = prometheus.NewDesc("loa_city_nats_flood_dropped_total", "Messages of the ward dropped by the city for going over the ward's budget, by kind: report, asrun, heartbeat.", []string{"ward", "kind"}, nil)
	descFlooding      = prometheus.NewDesc("loa_city_nats_ward_flooding", "1 while the ward sends more than its budget (messages dropped in the last 10 minutes); absent otherwise.", []string{"ward"}, nil)
	alertPubReasons   = []string{"store_full", "no_stream", "timeout", "disconnected", "other"}
	natsStreamsListed = []string{natsbus.StreamAlerts, natsbus.StreamReports, natsbus.StreamAsRun}
)

type natsCollector struct{ c *City }

func (n natsCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(n, ch) }

func (n natsCollector) Collect(ch chan<- prometheus.Metric) {
	c := n.c
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	ctr := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	now := c.Now()
	b := c.Board()
	b.Each(func(v fleet.View) {
		if !v.Registered {
			return
		}
		wb := c.bus.get(v.ID, now)
		ctr(descDenied, float64(wb.Denied), v.ID)
		for _, k := range wardKinds {
			ctr(descFloodDropped, float64(wb.Dropped[k]), v.ID, k)
		}
		if wb.Flooding {
			g(descFlooding, 1, v.ID)
		}
	})
	h := c.alerts
	if h == nil {
		return
	}
	g(descPublishable, b2f(len(c.AlertProblems()) == 0))
	a := c.Alerting.Health()
	for _, r := range alertPubReasons {
		ctr(descPubErrors, float64(a.Errors[r]), r)
	}
	g(descUnpublished, float64(a.Unpublished))
	ctr(descSendFailed, float64(a.SendFailed))
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
