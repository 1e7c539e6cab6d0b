package bench

// From the approver's click to the first sample at the ward outputs, with
// the two-person rule as a city runs it by default.
//
//	go test ./bench -run XXX -bench AlertApproveToOutput -benchtime 10x -timeout 30m
//
// The real loa-city binary (default approval rule: an emergency to two
// wards or more waits for an approver) and 100 wards: one real daemon
// (phuong-0000: player, engine, a null output paced like a sound card
// with a 150 ms buffer, as BenchmarkAlertToOutput) and 99 simulated wards
// (the agent's alert receiver with the player replaced by a recorder, as
// BenchmarkAlertFanout). Each round the alerter POSTs an emergency to all
// (202: held, nothing sent), then the approver POSTs the approval; t0 is
// the start of that POST. Measured from t0:
//
//   - heard: the first alert frame at the real ward's output (the player's
//     on-air time, by the output's sample clock);
//   - play-first / play-last: the first and the last of the 99 simulated
//     wards' player calls (PlayAlert);
//   - approve-api: the approval's answer (signed, recorded, published).

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"loa/agent"
	"loa/agent/alertrx"
	"loa/city/api"
	"loa/internal/testwait"
	"loa/signing"
	"loa/sqlite"
)

// post sends body to path with token and returns the status and body.
func (bc *alertBenchCity) post(b *testing.B, path, token string, body []byte) (int, []byte) {
	req, _ := http.NewRequest("POST", bc.url+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// request asks for an emergency to all, which the two-person rule holds;
// it returns the request's id.
func (bc *alertBenchCity) request(b *testing.B) string {
	chime := true
	body, _ := json.Marshal(api.NewAlert{To: "all", Media: bc.media, Priority: "emergency", Chime: &chime, ExpiresS: 600})
	code, out := bc.post(b, "/api/v1/alerts", bc.alerter, body)
	if code != http.StatusAccepted {
		b.Fatalf("request: %d %s (want 202: held for approval)", code, out)
	}
	var q api.AlertRequest
	json.Unmarshal(out, &q)
	return q.ID
}

// approve approves request id as the approver and returns the alert sent
// and when the approval began.
func (bc *alertBenchCity) approve(b *testing.B, id string) (string, time.Time, time.Duration) {
	t0 := time.Now()
	code, out := bc.post(b, "/api/v1/alert-requests/"+id+"/approve", bc.approver, nil)
	took := time.Since(t0)
	if code/100 != 2 {
		b.Fatalf("approve %s: %d %s", id, code, out)
	}
	var v struct {
		Request api.AlertRequest `json:"request"`
		Alert   api.Alert        `json:"alert"`
	}
	json.Unmarshal(out, &v)
	alertID := v.Alert.ID
	if alertID == "" {
		alertID = v.Request.Alert
	}
	if alertID == "" {
		b.Fatalf("approve %s: no alert in %s", id, out)
	}
	return alertID, t0, took
}

func BenchmarkAlertApproveToOutput(b *testing.B) {
	const n = 100
	bc := startAlertBenchCityConf(b, n, "alert_rules:\n  approval:\n    emergency_wards: 2\n")
	dir := b.TempDir()
	dbDir := b.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "loa-bench-"); err == nil {
			dbDir = d
			b.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()

	// The real ward.
	cfg := agent.DefaultConfig()
	cfg.Data, cfg.Ward, cfg.Clock = filepath.Join(dir, "data"), "phuong-0000", "trust"
	cfg.HTTP.Listen = alertFreeAddr(b)
	cfg.Audio.Output = "null"
	cfg.City.URL, cfg.City.Token, cfg.City.PublicKey = bc.url, bc.tokens["phuong-0000"], signing.PublicKeyText(bc.key)
	cfg.City.NATS, cfg.City.NATSKey = bc.natsURL, bc.seeds["phuong-0000"]
	ready := make(chan string, 1)
	d := &agent.Daemon{Cfg: cfg, Log: slog.New(slog.DiscardHandler), Ready: func(a string) { ready <- a }}
	wg.Add(1)
	go func() { defer wg.Done(); d.Run(ctx) }()
	addr := <-ready
	status := func() agent.StatusReport {
		resp, err := http.Get("http://" + addr + "/api/v1/status")
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var r agent.StatusReport
		json.NewDecoder(resp.Body).Decode(&r)
		return r
	}

	// The 99 simulated wards.
	st := stamper{mu: &sync.Mutex{}, seen: map[string][]time.Time{}, got: make(chan struct{}, n*4)}
	var rxs []*alertrx.Receiver
	for i := 1; i < n; i++ {
		w := fmt.Sprintf("phuong-%04d", i)
		db, err := sqlite.OpenAgent(ctx, filepath.Join(dbDir, w+".db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		rx, err := alertrx.New(alertrx.Config{Ward: w, NATS: bc.natsURL, Seed: bc.seeds[w], PublicKeys: []ed25519.PublicKey{bc.key},
			DB: db, Media: haveAll{}, Player: st, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		rxs = append(rxs, rx)
		wg.Add(1)
		go func() { defer wg.Done(); rx.Run(ctx) }()
	}
	up := 0
	testwait.For(b, "the simulated wards and the daemon's alert link connected", 3*time.Minute, func() bool {
		up = 0
		for _, rx := range rxs {
			if s := rx.State(ctx); s.NATS.Connected && s.Consumer == "" {
				up++
			}
		}
		s := status()
		return up == n-1 && s.Alerts != nil && s.Alerts.NATS.Connected && s.Alerts.Consumer == ""
	})
	drain := func(id string) {
		for k := 0; k < n-1; k++ {
			select {
			case <-st.got:
			case <-time.After(30 * time.Second):
				b.Fatalf("alert %s: %d of %d simulated wards played it", id, k, n-1)
			}
		}
	}
	finished := func(id string) {
		testwait.For(b, "alert "+id+" finished at the real ward", 60*time.Second, func() bool { return bc.status(b, id).Summary.Finished >= 1 })
	}
	// A first alert makes the real ward fetch and decode the media.
	id, _, _ := bc.approve(b, bc.request(b))
	drain(id)
	finished(id)

	var heard, handed, first, last, api []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := bc.request(b)
		id, t0, took := bc.approve(b, req)
		api = append(api, took)
		// On air at the real ward: when is the ward's own start time (its
		// status says), not when this wait sees it.
		var s agent.StatusReport
		testwait.For(b, "alert "+id+" on air at the real ward", 15*time.Second, func() bool {
			s = status()
			return s.Alert != nil && s.Alert.ID == id
		})
		heard = append(heard, s.Alert.Start.Sub(t0))
		handed = append(handed, s.Alert.Start.Add(-time.Duration(s.Device.LatencyMS)*time.Millisecond).Sub(t0))
		drain(id)
		st.mu.Lock()
		var lo, hi time.Duration
		for j, at := range st.seen[id] {
			dd := at.Sub(t0)
			if j == 0 || dd < lo {
				lo = dd
			}
			hi = max(hi, dd)
		}
		st.mu.Unlock()
		first, last = append(first, lo), append(last, hi)
		finished(id)
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(percentile(heard, 0.5)), "heard-p50-ms")
	b.ReportMetric(ms(percentile(heard, 0.99)), "heard-p99-ms")
	b.ReportMetric(ms(percentile(handed, 0.5)), "handed-p50-ms")
	b.ReportMetric(ms(percentile(handed, 0.99)), "handed-p99-ms")
	b.ReportMetric(ms(percentile(first, 0.5)), "play-first-p50-ms")
	b.ReportMetric(ms(percentile(last, 0.5)), "play-last-p50-ms")
	b.ReportMetric(ms(percentile(last, 0.99)), "play-last-p99-ms")
	b.ReportMetric(ms(percentile(api, 0.5)), "approve-api-ms")
}
