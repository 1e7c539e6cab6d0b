package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"loa/command"
)

// The configuration in a diagnostics bundle carries no secret nor key: the
// city token, the NATS seed, the city's public key and a password in a URL
// are all left out, the rest is there.
func TestDiagnosticsConfigWithoutSecrets(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Ward = "phuong-1"
	cfg.City.URL = "https://city.example"
	cfg.City.Token = "loaw_secret-token-value"
	cfg.City.NATSKey = "SUSEEDVALUE"
	cfg.City.PublicKey = "ed25519:PUBLICKEYVALUE"
	cfg.City.NATS = "nats://user:hunter2@city.example:4222"
	m := redactConfig(cfg)
	b, _ := json.Marshal(m)
	for _, secret := range []string{"secret-token-value", "SUSEEDVALUE", "PUBLICKEYVALUE", "hunter2"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the bundle's config carries %q:\n%s", secret, b)
		}
	}
	city, _ := m["city"].(map[string]any)
	if m["ward"] != "phuong-1" || city["url"] != "https://city.example" || city["token"] != redacted ||
		!strings.Contains(fmt.Sprint(city["nats"]), "city.example:4222") {
		t.Errorf("config: %s", b)
	}
}

// A bundle is cut to its size limit: the oldest log lines go first, the
// newest stay; then the status.
func TestDiagnosticsFitTheLimit(t *testing.T) {
	var lines []string
	for i := range command.MaxLogLines {
		lines = append(lines, fmt.Sprintf("line %04d %s", i, strings.Repeat("x", 100)))
	}
	b := Diagnostics{Ward: "phuong-1", Status: &StatusReport{Version: "v"}, Config: map[string]any{"ward": "phuong-1"}, Log: lines}
	out, err := fitDiagnostics(b, command.MaxDiagnostics)
	if err != nil {
		t.Fatal(err)
	}
	var got Diagnostics
	if len(out) > command.MaxDiagnostics || json.Unmarshal(out, &got) != nil {
		t.Fatalf("%d bytes, limit %d", len(out), command.MaxDiagnostics)
	}
	if len(got.Log) == 0 || len(got.Log) == len(lines) || got.Log[len(got.Log)-1] != lines[len(lines)-1] || got.Status == nil ||
		!strings.Contains(got.Truncated, "log:") {
		t.Fatalf("kept %d lines (last %q), status %v, truncated %q", len(got.Log), got.Log[len(got.Log)-1], got.Status != nil, got.Truncated)
	}
}

// The log ring keeps the newest lines, with the attributes of With and of
// the record, while the daemon's own handler still gets every record.
func TestLogRingKeepsTheLastLines(t *testing.T) {
	var out bytes.Buffer
	ring := newLogRing(3)
	log := slog.New(&ringHandler{inner: slog.NewTextHandler(&out, nil), ring: ring}).With("component", "commands")
	for i := range 5 {
		log.Info("command executed", "n", i, slog.Group("g", "a", 1))
	}
	got := ring.last(10)
	if len(got) != 3 || !strings.Contains(got[0], `n="2"`) || !strings.Contains(got[2], `n="4"`) ||
		!strings.Contains(got[2], `component="commands"`) || !strings.Contains(got[2], `g.a="1"`) {
		t.Fatalf("ring: %q", got)
	}
	if strings.Count(out.String(), "command executed") != 5 {
		t.Fatalf("the daemon's handler got:\n%s", out.String())
	}
	if l := ring.last(1); len(l) != 1 || l[0] != got[2] {
		t.Fatalf("last(1): %q", l)
	}
}
