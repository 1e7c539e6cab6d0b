package city_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"loa/city"
	"loa/city/api"
	"loa/city/citytest"
	"loa/internal/testwait"
	"loa/signing"
)

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := city.Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "loa-city.yaml")
	body = strings.ReplaceAll(body, "DIR", dir)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMainCommands(t *testing.T) {
	cfg := writeConfig(t, "data: DIR/data\nlisten: 127.0.0.1:0\nlog:\n  level: warn\n")

	code, out, errs := runMain(t, "key", "--config", cfg)
	if code != 0 {
		t.Fatalf("key: %d %s", code, errs)
	}
	m := regexp.MustCompile(`public key: (\S+)\nkey id:     ([0-9a-f]{16})\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("key output %q", out)
	}
	pub, err := signing.ParsePublicKey(m[1])
	if err != nil || signing.KeyID(pub) != m[2] {
		t.Fatalf("printed key %s does not match its id %s", m[1], m[2])
	}
	st, err := os.Stat(filepath.Join(filepath.Dir(cfg), "data", "city.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, st)
	}
	// The same key on the next run.
	if _, out2, _ := runMain(t, "key", "--config", cfg); out2 != out {
		t.Errorf("key changed: %q then %q", out, out2)
	}

	code, out, errs = runMain(t, "ward", "add", "phuong-1", "--group", "quan-1", "--group", "ven-song", "--config", cfg)
	if code != 0 {
		t.Fatalf("ward add: %d %s", code, errs)
	}
	tok := regexp.MustCompile(`loaw_[A-Za-z0-9_-]{43}`).FindString(out)
	if tok == "" {
		t.Fatalf("no token in %q", out)
	}
	code, out, _ = runMain(t, "ward", "list", "--json", "--config", cfg)
	var wards []api.Ward
	if err := json.Unmarshal([]byte(out), &wards); err != nil || code != 0 {
		t.Fatalf("ward list --json: %d %v %s", code, err, out)
	}
	if len(wards) != 1 || wards[0].ID != "phuong-1" || strings.Join(wards[0].Groups, ",") != "quan-1,ven-song" || wards[0].ManifestVersion == 0 {
		t.Errorf("wards %+v", wards)
	}
	if strings.Contains(out, tok) {
		t.Error("ward list shows the token")
	}
	_, out, _ = runMain(t, "ward", "list", "--config", cfg)
	if !strings.Contains(out, "phuong-1  quan-1,ven-song") || !strings.Contains(out, "never") {
		t.Errorf("ward list: %q", out)
	}

	code, out, errs = runMain(t, "user", "add", "lan", "--role", "operator", "--config", cfg)
	utok := regexp.MustCompile(`loau_[A-Za-z0-9_-]{43}`).FindString(out)
	if code != 0 || utok == "" {
		t.Fatalf("user add: %d %q %s", code, out, errs)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ward", "add", "phuong-1", "--config", cfg}, 2, "already exists"},
		{[]string{"ward", "add", "Phuong 1", "--config", cfg}, 2, "lowercase"},
		{[]string{"ward", "add", "--config", cfg}, 2, "want 1 argument"},
		{[]string{"user", "add", "x", "--config", cfg}, 2, "--role is required"},
		{[]string{"user", "add", "x", "--role", "boss", "--config", cfg}, 2, "role \"boss\""},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"ward", "remove", "x"}, 2, "unknown command"},
		{[]string{"key", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"key", "--config", writeConfig(t, "colour: red\n")}, 2, "field colour not found"},
		{[]string{"key", "--config", writeConfig(t, "data: DIR\ntimezone: Mars/Olympus\n")}, 2, "unknown zone"},
		{[]string{"key", "--config", "/nonexistent/loa-city.yaml"}, 2, "no such file"},
	} {
		code, _, errs := runMain(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"ward", "add", "--help"}, {"ward", "list", "-h"}, {"user", "add", "--help"}, {"key", "--help"}} {
		code, out, _ := runMain(t, args...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}

func TestMainRun(t *testing.T) {
	cfg := writeConfig(t, "data: DIR/data\nlisten: 127.0.0.1:0\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &citytest.LogBuffer{}
	done := make(chan int, 1)
	go func() { done <- city.Main(ctx, []string{"run", "--config", cfg}, io.Discard, logs) }()
	re := regexp.MustCompile(`msg="loa-city listening" addr=(\S+)`)
	var addr string
	if !testwait.Poll(10*time.Second, func() bool {
		select {
		case code := <-done:
			t.Fatalf("run exited %d: %s", code, logs)
		default:
		}
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	}) {
		t.Fatalf("no listening line: %s", logs)
	}
	// Healthy once its NATS streams are set up (503 "not set up" until
	// then, a few milliseconds with the embedded server).
	var b []byte
	testwait.Poll(10*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if string(b) != "ok\n" {
		t.Errorf("healthz %q", b)
	}
	resp, err := http.Get("http://" + addr + "/api/v1/manifest")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("manifest without token: %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exited %d after cancel: %s", code, logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}
}
