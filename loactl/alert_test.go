package loactl_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"loa/city/api"
	"loa/city/citytest"
)

func TestAlertCommands(t *testing.T) {
	c := citytest.New(t)
	c.AddWard(t, "phuong-1", "quan-1")
	c.AddWard(t, "phuong-2", "quan-1")
	c.StartAlerts(t)
	env := map[string]string{"LOA_CITY": c.URL, "LOA_TOKEN": c.Alerter, "HOME": t.TempDir()}

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"alert", "send", "--to", "all"}, "give one of --text, --file, --media, --stream"},
		{[]string{"alert", "send", "--text", "", "--to", "all"}, "--text is empty"},
		{[]string{"alert", "send", "--text", "Bão", "--media", "x", "--to", "all"}, "give one of"},
		{[]string{"alert", "send", "--text", "Bão"}, "--to is required"},
		{[]string{"alert", "send", "--stream", "http://127.0.0.1:1/x", "--to", "all"}, "--stream needs --duration"},
		{[]string{"alert", "send", "--text", "Bão", "--to", "phuong-9"}, "ward phuong-9 does not exist"},
		{[]string{"alert", "send", "--text", "Bão\x07", "--to", "all"}, "control character U+0007"},
		{[]string{"alert", "send", "--text", "Bão", "--to", "all", "--priority", "now"}, "priority"},
		{[]string{"alert", "send", "--file", "/khong/co.wav", "--to", "all"}, "no such file"},
		{[]string{"alert", "send", "Bão", "--to", "all"}, "unexpected \"Bão\""},
		{[]string{"alert", "send", "--text", "Bão", "--to", "all", "--volume", "0"}, "loactl alert send: âm lượng / volume 0: cần từ 1 đến 100"},
		{[]string{"alert", "send", "--text", "Bão", "--to", "all", "--volume", "-5"}, "volume -5"},
		{[]string{"alert", "send", "--text", "Bão", "--to", "all", "--volume", "101"}, "want 1-100"},
		{[]string{"alert", "list", "hom-nay"}, "loactl alert list: unexpected \"hom-nay\""},
	} {
		r := run(t, env, false, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.msg) || r.stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, r.code, r.stdout, r.stderr, tc.msg)
		}
	}
	if r := run(t, env, false, "alert", "list", "--json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("alerts after bad input: %+v", r)
	}

	r := run(t, env, false, "alert", "send", "--text", "Bão số 5 đổ bộ vào đêm nay.", "--to", "group:quan-1", "--priority", "emergency",
		"--repeat", "2", "--gap", "5s", "--expires", "10m", "--headline", "Bão số 5")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "cb-") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("send: %+v", r)
	}
	id := strings.TrimSpace(r.stdout)

	r = run(t, env, false, "alert", "status", id)
	if r.code != 0 || !strings.Contains(r.stdout, "emergency to group:quan-1") || !strings.Contains(r.stdout, "phuong-1  chờ / waiting") ||
		!strings.Contains(r.stdout, "2 wards: 0 done") || !strings.Contains(r.stdout, "Bão số 5") {
		t.Fatalf("status: %+v", r)
	}
	r = run(t, env, false, "alert", "status", id, "--json")
	var a api.Alert
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil || a.Content.Repeat != 2 || a.Content.GapS != 5 || len(a.Wards) != 2 {
		t.Fatalf("status --json: %v %s", err, r.stdout)
	}
	// Nobody answers: --wait gives up at its timeout, exit 1, states shown.
	r = run(t, env, false, "alert", "status", id, "--wait", "--timeout", "700ms")
	if r.code != 1 || !strings.Contains(r.stdout, "phuong-2") || !strings.Contains(r.stderr, "not every ward is done") {
		t.Fatalf("wait: %+v", r)
	}
	r = run(t, env, false, "alert", "cancel", id)
	if r.code != 0 || !strings.HasPrefix(r.stdout, id+" cancelled by cb-") {
		t.Fatalf("cancel: %+v", r)
	}
	if r = run(t, env, false, "alert", "cancel", id); r.code != 2 || !strings.Contains(r.stderr, "already stopped") {
		t.Fatalf("cancel again: %+v", r)
	}
	r = run(t, env, false, "alert", "list")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 3 || !strings.Contains(r.stdout, "Alert, cancelled") || !strings.Contains(r.stdout, "Cancel") {
		t.Fatalf("list: %+v", r)
	}
	// An operator may not send.
	env["LOA_TOKEN"] = c.Operator
	if r = run(t, env, false, "alert", "send", "--text", "Bão", "--to", "all"); r.code != 2 || !strings.Contains(r.stderr, "HTTP 403") {
		t.Fatalf("operator: %+v", r)
	}
}

// An alert re-sent every 2 hours until an end (QĐ 18/2021) from loactl:
// --every and --until go together, a bad --until is named, the city's
// own bound (at most 7 days) is its bilingual refusal, and the series is
// listed by `alert repeats` until a cancel stops it.
func TestAlertRepeatsFromTheCommandLine(t *testing.T) {
	c := citytest.New(t)
	c.AddWard(t, "phuong-1", "quan-1")
	c.StartAlerts(t)
	env := map[string]string{"LOA_CITY": c.URL, "LOA_TOKEN": c.Alerter, "HOME": t.TempDir()}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--every", "2h"}, 2, "--every and --until go together"},
		{[]string{"--until", "48h"}, 2, "--every and --until go together"},
		{[]string{"--every", "2h", "--until", "mai"}, 2, `--until "mai": không đọc được`},
		{[]string{"--every", "2h", "--until", "-1h"}, 2, "want a time after now"},
		{[]string{"--every", "2h", "--until", "200h"}, 2, "và trong vòng 7 ngày / want after the first repeat"},
		{[]string{"--every", "2h", "--until", "1h"}, 2, "và trong vòng 7 ngày / want after the first repeat"},
		{[]string{"--every", "5m", "--until", "48h"}, 2, "every_h: lặp lại mỗi"},
	} {
		args := append([]string{"alert", "send", "--text", "Bão số 5", "--to", "phuong-1"}, tc.args...)
		r := run(t, env, false, args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) || r.stdout != "" {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.msg)
		}
	}
	if r := run(t, env, false, "alert", "repeats", "--json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("repeats after bad input: %+v", r)
	}
	r := run(t, env, false, "alert", "send", "--text", "Bão số 5", "--to", "phuong-1", "--every", "2h", "--until", "48h")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "cb-") {
		t.Fatalf("send: %+v", r)
	}
	id := strings.TrimSpace(r.stdout)
	r = run(t, env, false, "alert", "repeats")
	if r.code != 0 || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "2h0m0s") || !strings.Contains(r.stdout, "active") {
		t.Fatalf("repeats: %+v", r)
	}
	var list []api.AlertRepeat
	r = run(t, env, false, "alert", "repeats", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 || list[0].EveryH != 2 || list[0].Sent != 1 || list[0].Next == nil {
		t.Fatalf("repeats --json: %v %s", err, r.stdout)
	}
	if d := list[0].Until.Sub(*list[0].Next); d < 45*time.Hour || d > 46*time.Hour+time.Minute {
		t.Errorf("until %s, next %s: want until 48 h from now", list[0].Until, list[0].Next)
	}
	run(t, env, false, "alert", "cancel", id)
	r = run(t, env, false, "alert", "repeats")
	if r.code != 0 || !strings.Contains(r.stdout, "stopped") {
		t.Fatalf("repeats after the cancel: %+v", r)
	}
}
