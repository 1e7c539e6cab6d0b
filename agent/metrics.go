package agent

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the agent's Prometheus series (GET /metrics).
type metrics struct {
	reg            *prometheus.Registry
	startError     prometheus.Histogram
	outputLevel    prometheus.Gauge
	silenceSeconds prometheus.Counter
	items          *prometheus.CounterVec
	deviceErrors   prometheus.Counter
	clockSynced    prometheus.Gauge
	occToday       prometheus.Gauge
	alertsRejected *prometheus.CounterVec
	relayFailures  prometheus.Counter
	syncAge        prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		startError: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "loa_start_error_seconds",
			Help:    "Actual minus scheduled start of programs, at the output (positive: late).",
			Buckets: []float64{-0.1, -0.05, -0.02, -0.01, -0.005, 0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 3},
		}),
		outputLevel:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "loa_output_level_dbfs", Help: "Peak level of what is handed to the sound card, dBFS."}),
		silenceSeconds: prometheus.NewCounter(prometheus.CounterOpts{Name: "loa_silence_seconds_total", Help: "Seconds of silence (below the threshold) while a program was on air."}),
		items:          prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loa_items_total", Help: "Items that went through the as-run log, by result."}, []string{"result"}),
		deviceErrors:   prometheus.NewCounter(prometheus.CounterOpts{Name: "loa_device_errors_total", Help: "Audio device failures."}),
		clockSynced:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "loa_clock_synced", Help: "1 when the clock is trusted for scheduling."}),
		occToday:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "loa_schedule_occurrences_today", Help: "Program occurrences scheduled today."}),
		alertsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loa_alerts_rejected_total", Help: "Alerts refused, by reason."}, []string{"reason"}),
		relayFailures:  prometheus.NewCounter(prometheus.CounterOpts{Name: "loa_relay_failures_total", Help: "Relay streams that failed or went silent."}),
		syncAge:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "loa_sync_age_seconds", Help: "Seconds since the last successful sync with the city."}),
	}
	// Every result shows from the start (at 0), so that rate() and alert
	// rules work before the first failure.
	for _, r := range []string{"completed", "cut", "interrupted", "failed", "missed", "skipped", "displaced", "cancelled", "unfinished"} {
		m.items.WithLabelValues(r)
	}
	m.reg.MustRegister(m.startError, m.outputLevel, m.silenceSeconds, m.items, m.deviceErrors, m.clockSynced, m.occToday,
		m.alertsRejected, m.relayFailures, m.syncAge,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// resultLabel keeps the label set small: "failed: no such file" counts as
// "failed".
func resultLabel(result string) string {
	if i := strings.IndexByte(result, ':'); i >= 0 {
		return result[:i]
	}
	return result
}
