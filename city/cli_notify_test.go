package city_test

import (
	"context"
	"strings"
	"testing"

	"loa/city"
	"loa/city/audit"
)

// TestNotifyCommands: a user's notifications set and shown from the
// command line into the real city database; bad input refused naming the
// field in both languages, changing nothing; a channel the server is not
// configured for refused; every change audited.
func TestNotifyCommands(t *testing.T) {
	cfg := writeConfig(t, "data: DIR/data\nlisten: 127.0.0.1:0\nlog:\n  level: warn\nnotify:\n  smtp:\n    addr: 127.0.0.1:2525\n    from: loa@ubnd.example\n  webhook:\n    secret: 0123456789abcdef0123\n")
	if code, _, errs := runMain(t, "user", "add", "lan", "--role", "technician", "--config", cfg); code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	code, out, errs := runMain(t, "notify", "set", "lan", "--email", "lan@example.vn", "--rules", "offline,silent", "--config", cfg)
	if code != 0 || !strings.Contains(out, "lan@example.vn") || !strings.Contains(out, "Mất kết nối") {
		t.Fatalf("notify set: %d %q %s", code, out, errs)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"notify", "set", "lan", "--email", "lan at example"}, "email"},
		{[]string{"notify", "set", "lan", "--rules", "offline,loud"}, "rules"},
		{[]string{"notify", "set", "lan", "--telegram", "-1001"}, "telegram"}, // not configured
		{[]string{"notify", "set", "lan", "--webhook", "javascript:alert(1)"}, "webhook"},
		{[]string{"notify", "set", "nobody", "--rules", "all"}, "nobody"},
	} {
		code, _, errs := runMain(t, append(tc.args, "--config", cfg)...)
		if code != 2 || !strings.Contains(errs, tc.want) || !strings.Contains(errs, " / ") {
			t.Errorf("%v: exit %d, stderr %q; want 2 with %q in both languages", tc.args, code, errs, tc.want)
		}
	}
	code, out, _ = runMain(t, "notify", "set", "lan", "--webhook", "https://zalo-bridge.example/hook", "--config", cfg)
	if code != 0 || !strings.Contains(out, "lan@example.vn") || !strings.Contains(out, "zalo-bridge") || !strings.Contains(out, "silent") {
		t.Fatalf("notify set --webhook kept the rest? %q", out)
	}
	_, out, _ = runMain(t, "notify", "show", "lan", "--json", "--config", cfg)
	if !strings.Contains(out, `"offline"`) || !strings.Contains(out, `"webhook": "https://zalo-bridge.example/hook"`) {
		t.Errorf("notify show --json: %s", out)
	}

	ctx := context.Background()
	conf, err := city.LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := city.Open(ctx, conf, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := c.Audit.List(ctx, audit.Filter{Action: "notify."})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Errorf("audit: %d notify rows, want 2: %+v", len(rows), rows)
	}
}
