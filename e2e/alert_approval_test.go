package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/city/api"
	"loa/sqlite"
)

// The two-person rule with the real programs: an emergency to two wards
// composed by one person plays nowhere until a second approves it; the
// composer's own approval is refused; a refused request sends nothing; a
// break-glass send plays at once and is in the audit log; a test alert
// plays with its spoken prefix before its tone.
func TestAlertApprovalTwoPeople(t *testing.T) {
	t.Parallel()
	// The city's default rule (an emergency to more than one ward needs a
	// second person), stated so that the helper keeps it.
	c := newAlertCity(t, "alert_rules:\n  training: false\n", "phuong-1", "phuong-2")
	tone(t, filepath.Join(c.dir, "coi.wav"), 700, 2)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))
	args := func(a ...string) []string { return append(a, "--config", c.config) }
	userA := lastField(run(t, nil, "loa-city", args("user", "add", "an", "--role", "approver")...))
	userB := lastField(run(t, nil, "loa-city", args("user", "add", "binh", "--role", "approver")...))
	ctlA := []string{"LOA_CITY=http://" + c.addr, "LOA_TOKEN=" + userA, "HOME=" + c.dir}
	ctlB := []string{"LOA_CITY=http://" + c.addr, "LOA_TOKEN=" + userB, "HOME=" + c.dir}
	// The wards put test alerts on air (alerts.play_tests; off by default).
	c.agentExtra = "alerts:\n  play_tests: true\n"
	out1, out2 := filepath.Join(c.dir, "phuong-1.wav"), filepath.Join(c.dir, "phuong-2.wav")
	a1, a2 := c.startWard("phuong-1", "wav:"+out1), c.startWard("phuong-2", "wav:"+out2)
	a1.waitLinked()
	a2.waitLinked()

	// A composes an emergency to both wards: held, not sent.
	send := []string{"alert", "send", "--media", "coi.wav", "--to", "phuong-1,phuong-2", "--priority", "emergency", "--chime=false"}
	stdout, stderr, code := runCode(t, ctlA, "loactl", send...)
	req := strings.TrimSpace(stdout)
	if code != 3 || !strings.HasPrefix(req, "yc-") || !strings.Contains(stderr, "NOT SENT") {
		t.Fatalf("send: exit %d %q %q", code, stdout, stderr)
	}
	// A's own approval is refused, in both languages.
	_, stderr, code = runCode(t, ctlA, "loactl", "alert", "approve", req)
	if code == 0 || !strings.Contains(stderr, "không thể tự duyệt") || !strings.Contains(stderr, "cannot approve it yourself") {
		t.Fatalf("own approval: exit %d %q", code, stderr)
	}
	// The alerter (no approver role) cannot approve either.
	if _, stderr, code = runCode(t, c.ctl, "loactl", "alert", "approve", req); code == 0 || !strings.Contains(stderr, "403") {
		t.Fatalf("alerter's approval: exit %d %q", code, stderr)
	}
	if list := c.alertList(); len(list) != 0 {
		t.Fatalf("alerts sent before approval: %+v", list)
	}
	if r1, r2 := alertRows(t, a1.data), alertRows(t, a2.data); len(r1)+len(r2) != 0 {
		t.Fatalf("played before approval: %+v %+v", r1, r2)
	}

	// B approves: it plays at both wards.
	out := run(t, ctlB, "loactl", "alert", "approve", req)
	id := strings.Fields(out)[3]
	if !strings.HasPrefix(id, "cb-") {
		t.Fatalf("approve printed %q", out)
	}
	c.waitWardState(id, "phuong-1", "finished", 30*time.Second)
	c.waitWardState(id, "phuong-2", "finished", 30*time.Second)
	if a := c.alertStatus(id); a.SentBy != "an" || a.Priority != "emergency" {
		t.Fatalf("approved alert: %+v", a)
	}

	// A refused request sends nothing.
	stdout, _, code = runCode(t, ctlA, "loactl", send...)
	req2 := strings.TrimSpace(stdout)
	if code != 3 {
		t.Fatalf("second send: exit %d %q", code, stdout)
	}
	if _, _, code := runCode(t, ctlB, "loactl", "alert", "refuse", req2); code != 2 {
		t.Fatalf("refuse without a reason: exit %d", code)
	}
	run(t, ctlB, "loactl", "alert", "refuse", req2, "--reason", "Sai vùng cảnh báo")
	if _, stderr, code := runCode(t, ctlB, "loactl", "alert", "approve", req2); code == 0 || !strings.Contains(stderr, "409") {
		t.Fatalf("approve after refusal: exit %d %q", code, stderr)
	}
	var reqs []api.AlertRequest
	if err := json.Unmarshal([]byte(run(t, ctlA, "loactl", "alert", "pending", "--all", "--json")), &reqs); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || reqs[0].ID != req2 || reqs[0].State != "refused" || reqs[0].Reason != "Sai vùng cảnh báo" || reqs[1].State != "approved" || reqs[1].Alert != id {
		t.Fatalf("requests: %+v", reqs)
	}

	// Break-glass: the targets typed again and a reason; it plays at once.
	bg := run(t, ctlA, "loactl", append(send, "--break-glass", "--confirm", "phuong-1,phuong-2", "--reason", "Bão đổ bộ, không gọi được người duyệt")...)
	bgID := strings.TrimSpace(bg)
	c.waitWardState(bgID, "phuong-1", "finished", 30*time.Second)
	if list := c.alertList(); len(list) != 2 {
		t.Fatalf("alerts sent: %+v (the refused one must not be there)", list)
	}
	if n := len(alertRows(t, a1.data)); n != 2 {
		t.Fatalf("phuong-1 played %d alerts, want 2", n)
	}
	entries := c.auditLog()
	found := map[string]bool{}
	for _, e := range entries {
		found[e.Action+" "+e.Actor] = true
		if e.Action == "alert.break_glass" && (e.Target != bgID || !strings.Contains(e.Detail, "không gọi được người duyệt")) {
			t.Fatalf("break-glass audit: %+v", e)
		}
	}
	for _, want := range []string{"alert.request an", "alert.approve binh", "alert.refuse binh", "alert.break_glass an"} {
		if !found[want] {
			t.Fatalf("audit log lacks %q: %+v", want, entries)
		}
	}

	// A test alert to one ward (no approval needed) is spoken with its
	// prefix: at the ward's output, speech comes before the alert's tone.
	testID := c.alertSend("--media", "coi.wav", "--to", "phuong-1", "--priority", "emergency", "--chime=false", "--status", "Test")
	c.waitWardState(testID, "phuong-1", "finished", 45*time.Second)
	rows := alertRows(t, a1.data)
	last := rows[len(rows)-1]
	if len(rows) != 3 || last.Result != "completed" || !strings.Contains(last.Program+last.Source+last.Item, testID) {
		t.Fatalf("as-run: %+v", rows)
	}
	x, rate := readWAVFile(t, out1)
	ws := analyze(x, rate, 700)
	// The last tone's onset.
	end := len(ws) - 1
	for end > 0 && ws[end].tone < 0.3 {
		end--
	}
	onset := end
	for onset > 0 && ws[onset-1].tone >= 0.3 {
		onset--
	}
	if end-onset < 15 || onset < 25 {
		t.Fatalf("no 2 s tone found at the end of the output (onset %d, end %d)", onset, end)
	}
	// Before it: the 0.5 s pause, and before that the spoken prefix
	// (loud, and not the tone).
	speech := 0
	for _, w := range ws[onset-25 : onset-5] {
		if w.level > -40 && w.tone < 0.3 {
			speech++
		}
	}
	if speech < 8 {
		t.Fatalf("no spoken prefix before the test alert's tone: %d of 20 windows with speech", speech)
	}
}

// alertList is GET /api/v1/alerts through loactl.
func (c *alertCity) alertList() []api.AlertListEntry {
	c.t.Helper()
	var list []api.AlertListEntry
	if err := json.Unmarshal([]byte(run(c.t, c.ctl, "loactl", "alert", "list", "--json")), &list); err != nil {
		c.t.Fatal(err)
	}
	return list
}

// auditLog reads the city's audit log from its database.
func (c *alertCity) auditLog() []sqlite.AuditEntry {
	c.t.Helper()
	db, err := sqlite.OpenCity(context.Background(), filepath.Join(c.dir, "city-data", "city.db"))
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	e, err := db.Read().Audit(context.Background(), sqlite.AuditFilter{Limit: 1000})
	if err != nil {
		c.t.Fatal(err)
	}
	return e
}
