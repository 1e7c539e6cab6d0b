package city_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"loa/city/citytest"
	"loa/internal/testwait"
	"loa/natsbus"
)

// With its NATS up, the city's /healthz is a plain 200 "ok", /metrics
// says alerts are publishable and shows each stream's reserved share.
func TestHealthzAndStreamShares(t *testing.T) {
	c := citytest.New(t)
	c.AddWard(t, "phuong-1", "quan-1")
	c.StartAlerts(t)
	status, body, _ := c.Do(t, "GET", "/healthz", "", nil)
	if status != 200 || string(body) != "ok\n" {
		t.Fatalf("/healthz: %d %q", status, body)
	}
	var m []byte
	testwait.Poll(10*time.Second, func() bool { // the first look at the streams
		_, m, _ = c.Do(t, "GET", "/metrics", c.Technician, nil)
		return strings.Contains(string(m), "loa_city_nats_stream_max_bytes")
	})
	share := natsbus.StreamShare(c.City.Config.NATS.MaxStoreMB << 20)
	for _, want := range []string{
		"loa_city_alerts_publishable 1",
		`loa_city_nats_stream_max_bytes{stream="ALERTS"} ` + fmt.Sprint(float64(share)),
		`loa_city_nats_stream_max_bytes{stream="ASRUN"} ` + fmt.Sprint(float64(share)),
		`loa_city_nats_denied_total{ward="phuong-1"} 0`,
		`loa_city_nats_flood_dropped_total{kind="report",ward="phuong-1"} 0`,
		`loa_city_alert_publish_errors_total{reason="store_full"} 0`,
	} {
		if !strings.Contains(string(m), want+"\n") {
			t.Errorf("/metrics has no %q", want)
		}
	}
}
