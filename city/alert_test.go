package city_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"loa/alert"
	"loa/city/api"
	"loa/city/citytest"
	"loa/internal/testwait"
	"loa/natsbus"
)

func postAlert(t *testing.T, c *citytest.City, token string, req any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(req)
	status, body, _ := c.Do(t, "POST", "/api/v1/alerts", token, bytes.NewReader(b))
	return status, body
}

func decodeAlert(t *testing.T, body []byte) api.Alert {
	t.Helper()
	var a api.Alert
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return a
}

// Bad requests get a clear 4xx and send nothing: no message in ALERTS, no
// alert recorded, no speech rendered.
func TestAlertBadInputSendsNothing(t *testing.T) {
	c := citytest.New(t)
	c.AddWard(t, "phuong-1", "quan-1")
	c.Config.Alerts.StreamCheck = 500 * 1e6 // 500 ms
	bus := c.StartAlerts(t)

	// A stream that accepts connections and never answers.
	hang, _ := net.Listen("tcp", "127.0.0.1:0")
	defer hang.Close()
	go func() {
		for {
			conn, err := hang.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedURL := "http://" + closed.Addr().String() + "/live.mp3"
	closed.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()

	cases := []struct {
		name string
		req  map[string]any
		want int
		msg  string
	}{
		{"nothing", map[string]any{"to": "all"}, 400, "nothing to play"},
		{"empty text", map[string]any{"to": "all", "text": ""}, 400, "nothing to play"},
		{"blank text", map[string]any{"to": "all", "text": "  \n "}, 400, "text: empty"},
		{"long text", map[string]any{"to": "all", "text": strings.Repeat("bão ", 1001)}, 400, "at most 4000"},
		{"10 MB text", map[string]any{"to": "all", "text": strings.Repeat("a", 10<<20)}, 413, "at most 4000 characters"},
		{"escape", map[string]any{"to": "all", "text": "Bão\x1b[2J"}, 400, "control character U+001B"},
		{"nul", map[string]any{"to": "all", "text": "Bão\x00"}, 400, "control character U+0000"},
		{"two kinds", map[string]any{"to": "all", "text": "a", "stream": "http://x/y"}, 400, "one of text, media and stream"},
		{"unknown ward", map[string]any{"to": "phuong-1,phuong-99", "text": "Bão"}, 400, "ward phuong-99 does not exist"},
		{"empty group", map[string]any{"to": "group:quan-9", "text": "Bão"}, 400, "group quan-9 has no ward"},
		{"bad target", map[string]any{"to": "Phuong 1", "text": "Bão"}, 400, "to: target"},
		{"no target", map[string]any{"text": "Bão"}, 400, "no target"},
		{"priority", map[string]any{"to": "all", "text": "Bão", "priority": "high"}, 400, "priority"},
		{"expires", map[string]any{"to": "all", "text": "Bão", "expires_s": 3 * 86400}, 400, "expires"},
		{"repeat", map[string]any{"to": "all", "text": "Bão", "repeat": 50}, 400, "repeat"},
		{"voice", map[string]any{"to": "all", "text": "Bão", "voice": "en"}, 400, "voice"},
		{"unknown media", map[string]any{"to": "all", "media": "khong-co.mp3"}, 400, "not in the city's library"},
		{"stream refused", map[string]any{"to": "all", "stream": closedURL, "duration_s": 60}, 400, "does not answer"},
		{"stream hangs", map[string]any{"to": "all", "stream": "http://" + hang.Addr().String() + "/live", "duration_s": 60}, 400, "no answer within 500ms"},
		{"stream 404", map[string]any{"to": "all", "stream": notFound.URL + "/x", "duration_s": 60}, 400, "404"},
		{"stream no duration", map[string]any{"to": "all", "stream": notFound.URL + "/x"}, 400, "duration"},
		{"stream scheme", map[string]any{"to": "all", "stream": "file:///etc/passwd", "duration_s": 5}, 400, "not an http"},
		{"unknown field", map[string]any{"to": "all", "text": "Bão", "ward": "x"}, 400, "unknown field"},
		{"update unknown", map[string]any{"to": "all", "text": "Bão", "update": "cb-nope"}, 400, "no alert cb-nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			status, body := postAlert(t, c, c.Alerter, tc.req)
			if status != tc.want || !strings.Contains(string(body), tc.msg) {
				t.Fatalf("got %d %s, want %d with %q", status, body, tc.want, tc.msg)
			}
			if d := time.Since(began); d > 3*time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}
	// Bytes that are not UTF-8, sent as they are.
	status, body, _ := c.Do(t, "POST", "/api/v1/alerts", c.Alerter, strings.NewReader("{\"to\":\"all\",\"text\":\"B\xe3o \xff\"}"))
	if status != 400 || !strings.Contains(string(body), "not UTF-8") {
		t.Fatalf("not UTF-8: %d %s", status, body)
	}
	if n := bus.StreamMsgs(t, natsbus.StreamAlerts); n != 0 {
		t.Fatalf("ALERTS holds %d messages after bad requests", n)
	}
	status, body, _ = c.Do(t, "GET", "/api/v1/alerts", c.Alerter, nil)
	if status != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("alerts recorded: %d %s", status, body)
	}
	// Nor is any speech in the library.
	status, body, _ = c.Do(t, "GET", "/api/v1/media", c.Operator, nil)
	if status != 200 || strings.Contains(string(body), "alert-cb-") {
		t.Fatalf("speech rendered for a refused alert: %s", body)
	}
	// Only alerters and admins send.
	if status, _ := postAlert(t, c, c.Operator, map[string]any{"to": "all", "text": "Bão"}); status != 403 {
		t.Fatalf("operator sent an alert: %d", status)
	}
}

// A text alert is spoken once at the city, signed, published once per
// ward it is for, and its media may be fetched by those wards only; the
// wards' receipts make its status; a cancel is itself a signed message.
func TestAlertSendStatusCancel(t *testing.T) {
	c := citytest.New(t)
	w1 := c.AddWard(t, "phuong-1", "quan-1")
	c.AddWard(t, "phuong-2", "quan-1")
	w3 := c.AddWard(t, "phuong-3", "quan-2")
	bus := c.StartAlerts(t)
	ctx := context.Background()

	status, body := postAlert(t, c, c.Alerter, map[string]any{"to": "group:quan-1,phuong-3", "text": "Bão số 5 đổ bộ. Người dân sơ tán.",
		"voice": "vi-vn-x-south", "priority": "emergency", "repeat": 2, "gap_s": 3, "headline": "Bão số 5", "severity": "Extreme"})
	if status != 201 {
		t.Fatalf("send: %d %s", status, body)
	}
	a := decodeAlert(t, body)
	if a.State != "sent" || a.Copies != 3 || a.Pending != 0 || a.Summary.Wards != 3 || a.Summary.Waiting != 3 || a.Content.Kind != "text" ||
		a.Content.SHA256 == "" || a.Content.Chime == "" || a.Content.DurationS < 1 {
		t.Fatalf("answer: %s", body)
	}
	// One copy per ward (two groups' wards and a ward named), each signed.
	if n := bus.StreamMsgs(t, natsbus.StreamAlerts); n != 3 {
		t.Fatalf("ALERTS holds %d messages, want 3", n)
	}
	s, _ := bus.JS.Stream(ctx, natsbus.StreamAlerts)
	m, err := s.GetLastMsgForSubject(ctx, natsbus.AlertWard("phuong-3"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := alert.ReadEnvelope(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := alert.Open(env, c.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || fmt.Sprint(got.Recipients) != "[phuong-1 phuong-2 phuong-3]" || got.Content.Media.SHA256 != a.Content.SHA256 ||
		got.Priority != alert.Emergency || got.Repeat != 2 || got.GapMS != 3000 || got.Content.Voice != "vi-vn-x-south" || got.Severity != "Extreme" {
		t.Fatalf("published alert: %+v", got)
	}
	// Its wards may fetch its media; others may not.
	for _, key := range []string{a.Content.SHA256, a.Content.Chime} {
		if st, b, _ := c.Do(t, "GET", "/api/v1/media/"+key, w1, nil); st != 200 || len(b) < 1000 {
			t.Fatalf("ward fetches alert media: %d", st)
		}
	}
	other := c.AddWard(t, "phuong-4", "quan-3")
	if st, _, _ := c.Do(t, "GET", "/api/v1/media/"+a.Content.SHA256, other, nil); st != 403 {
		t.Fatalf("ward not addressed fetched alert media: %d", st)
	}

	// Receipts from phuong-3, through NATS, on its own subject.
	l, err := natsbus.Dial(natsbus.ConnOptions{URLs: bus.URL, Seed: c.WardKey(t, "phuong-3"), InboxPrefix: natsbus.InboxPrefix("phuong-3")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	wjs, _ := jetstream.New(l.Conn)
	for i, st := range []alert.State{alert.Received, alert.Started, alert.Finished} {
		r, _ := alert.EncodeReport(alert.Report{Alert: a.ID, Verified: true, Ward: "phuong-3", State: st, At: a.Issued.Add(time.Duration(i+1) * 100 * time.Millisecond), Seq: int64(i)})
		if _, err := wjs.Publish(ctx, natsbus.Report("phuong-3"), r); err != nil {
			t.Fatal(err)
		}
	}
	// A replay phuong-3 refused after playing it does not undo "finished".
	r, _ := alert.EncodeReport(alert.Report{Alert: a.ID, Verified: true, Ward: "phuong-3", State: alert.Rejected, Reason: alert.ReasonReplay, At: a.Issued.Add(time.Second)})
	wjs.Publish(ctx, natsbus.Report("phuong-3"), r)
	var w3state api.WardAlertState
	waitFor(t, "phuong-3 finished", func() bool {
		_, body, _ := c.Do(t, "GET", "/api/v1/alerts/"+a.ID, c.Technician, nil)
		for _, w := range decodeAlert(t, body).Wards {
			if w.Ward == "phuong-3" {
				w3state = w
				return w.State == "finished" && w.Rejections == 1
			}
		}
		return false
	})
	if *w3state.ReceivedMS != 100 || *w3state.StartedMS != 200 || *w3state.FinishedMS != 300 {
		t.Fatalf("phuong-3: %+v", w3state)
	}
	_ = w3

	// Cancel: a signed Cancel on the same subjects.
	status, body, _ = c.Do(t, "POST", "/api/v1/alerts/"+a.ID+"/cancel", c.Alerter, nil)
	if status != 200 {
		t.Fatalf("cancel: %d %s", status, body)
	}
	ca := decodeAlert(t, body)
	if ca.State != "cancelled" || ca.CancelledBy == "" {
		t.Fatalf("after cancel: %s", body)
	}
	if n := bus.StreamMsgs(t, natsbus.StreamAlerts); n != 6 {
		t.Fatalf("ALERTS holds %d messages after the cancel, want 6", n)
	}
	m, _ = s.GetLastMsgForSubject(ctx, natsbus.AlertWard("phuong-1"))
	env, _ = alert.ReadEnvelope(m.Data)
	cancel, err := alert.Open(env, c.PublicKey())
	if err != nil || cancel.MsgType != alert.MsgCancel || cancel.References[0] != a.ID || cancel.ID != ca.CancelledBy || !cancel.Expires.Equal(got.Expires) {
		t.Fatalf("cancel message: %+v %v", cancel, err)
	}
	if status, body, _ := c.Do(t, "POST", "/api/v1/alerts/"+a.ID+"/cancel", c.Alerter, nil); status != 409 || !strings.Contains(string(body), "already stopped") {
		t.Fatalf("cancel twice: %d %s", status, body)
	}
	if status, _, _ := c.Do(t, "POST", "/api/v1/alerts/cb-nope/cancel", c.Alerter, nil); status != 404 {
		t.Fatalf("cancel unknown: %d", status)
	}
	if status, _, _ := c.Do(t, "GET", "/api/v1/alerts/"+a.ID, c.Operator, nil); status != 200 {
		t.Fatalf("operator reads status: %d", status)
	}
}

// An alert for all goes out as one message; one from a media item needs no
// speech but its own (an exercise's prefix); the same text twice is rendered twice but stored once.
func TestAlertToAllWithMedia(t *testing.T) {
	c := citytest.New(t)
	c.AddWard(t, "phuong-1")
	c.AddWard(t, "phuong-2")
	bus := c.StartAlerts(t)
	m := c.Upload(t, citytest.Tone(t, t.TempDir(), "coi-bao-dong.wav", 2, 700), "coi-bao-dong.wav")
	chime := false
	status, body := postAlert(t, c, c.Alerter, map[string]any{"to": "all", "media": "coi-bao-dong.wav", "chime": chime, "status": "Exercise"})
	if status != 201 {
		t.Fatalf("%d %s", status, body)
	}
	a := decodeAlert(t, body)
	// An exercise says so first: its audio is the spoken test prefix, then
	// the 2 s item (alert_rules.test_prefix).
	if a.Copies != 1 || a.Content.SHA256 == m.SHA256 || a.Content.DurationS < 3 || a.Content.Chime != "" || a.Status != "Exercise" || a.Summary.Wards != 2 || a.Targets != "all" {
		t.Fatalf("%s", body)
	}
	if n := bus.StreamMsgs(t, natsbus.StreamAlerts); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

// Loading programs tells the wards concerned at once.
func TestProgramLoadNotifiesWards(t *testing.T) {
	c := citytest.New(t)
	c.AddWard(t, "phuong-1", "quan-1")
	c.AddWard(t, "phuong-2", "quan-2")
	bus := c.StartAlerts(t)
	c.Upload(t, citytest.Tone(t, t.TempDir(), "a.wav", 1, 440), "a.wav")
	got := make(chan string, 10)
	for _, s := range []string{natsbus.NotifyAll, natsbus.NotifyWard("phuong-1"), natsbus.NotifyWard("phuong-2")} {
		bus.Admin.Subscribe(s, func(m *nats.Msg) { got <- m.Subject })
	}
	bus.Admin.Flush()
	c.MustLoad(t, "group:quan-1", "programs:\n  - id: a\n    cron: \"0 5 * * *\"\n    items: [a.wav]\n")
	if s := recv(t, got); s != natsbus.NotifyWard("phuong-1") {
		t.Fatalf("notified %s", s)
	}
	c.MustLoad(t, "all", "programs:\n  - id: b\n    cron: \"0 6 * * *\"\n    items: [a.wav]\n")
	if s := recv(t, got); s != natsbus.NotifyAll {
		t.Fatalf("notified %s", s)
	}
	select {
	case s := <-got:
		t.Fatalf("extra notification %s", s)
	case <-time.After(200 * time.Millisecond):
	}
}

func recv(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
		return ""
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, what, 10*time.Second, cond)
}

// A ward added through the API gets its NATS key in the answer, once; the
// city keeps only the public half, and the key lets it connect.
func TestWardAddedWithNATSKey(t *testing.T) {
	c := citytest.New(t)
	bus := c.StartAlerts(t)
	status, body, _ := c.Do(t, "POST", "/api/v1/wards", c.Admin, strings.NewReader(`{"id":"phuong-7","groups":["quan-2"]}`))
	var w api.Ward
	if status != 201 || json.Unmarshal(body, &w) != nil || !strings.HasPrefix(w.NATSSeed, "SU") {
		t.Fatalf("%d %s", status, body)
	}
	pub, _ := natsbus.PublicKey(w.NATSSeed)
	keys, _ := c.DB.Read().WardNKeys(context.Background())
	if len(keys) != 1 || keys[0].NKey != pub || strings.Contains(string(body), pub) {
		t.Fatalf("stored keys %+v", keys)
	}
	l, err := natsbus.Dial(natsbus.ConnOptions{URLs: bus.URL, Seed: w.NATSSeed, InboxPrefix: natsbus.InboxPrefix("phuong-7")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	waitFor(t, "the new ward connected", l.Conn.IsConnected)
	// Its key re-issued: the old one no longer connects.
	if _, err := c.IssueWardKey(context.Background(), "phuong-7"); err != nil {
		t.Fatal(err)
	}
	_, err = nats.Connect(bus.URL, nats.Nkey(pub, func(b []byte) ([]byte, error) {
		kp, _ := nkeys.FromSeed([]byte(w.NATSSeed))
		return kp.Sign(b)
	}), nats.Timeout(2*time.Second))
	if err == nil {
		t.Fatal("the old key still connects")
	}
	if _, err := c.IssueWardKey(context.Background(), "phuong-99"); err == nil {
		t.Fatal("a key for a ward that does not exist")
	}
}

// TestAlertVolume: an alert's volume is 1-100; left out it is 100. 0 was
// once taken for "not given" and sent at 100: now it is refused, as is
// anything out of range or not a whole number, with a 400 naming the
// field, and nothing is sent.
func TestAlertVolume(t *testing.T) {
	c := citytest.New(t)
	c.AddWard(t, "phuong-1")
	bus := c.StartAlerts(t)
	ctx := context.Background()
	tone := c.Upload(t, citytest.Tone(t, t.TempDir(), "tin.wav", 1, 440), "tin.wav")
	s, err := bus.JS.Stream(ctx, natsbus.StreamAlerts)
	if err != nil {
		t.Fatal(err)
	}
	sent := uint64(0)
	for _, tc := range []struct {
		name   string
		volume string // JSON, "" for absent
		status int
		want   int    // the volume sent
		msg    string // in the 400
	}{
		{"absent", "", 201, 100, ""},
		{"1", "1", 201, 1, ""},
		{"55", "55", 201, 55, ""},
		{"100", "100", 201, 100, ""},
		{"0", "0", 400, 0, "âm lượng / volume 0: cần từ 1 đến 100"},
		{"negative", "-20", 400, 0, "volume -20: cần từ 1 đến 100"},
		{"101", "101", 400, 0, "want 1-100"},
		{"huge", "1000000", 400, 0, "volume 1000000"},
		{"fraction", "50.5", 400, 0, "volume"},
		{"string", `"loud"`, 400, 0, "volume"},
		{"null", "null", 201, 100, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"to":"phuong-1","media":"tin.wav","chime":false`
			if tc.volume != "" {
				body += `,"volume":` + tc.volume
			}
			body += "}"
			status, res, _ := c.Do(t, "POST", "/api/v1/alerts", c.Alerter, strings.NewReader(body))
			if status != tc.status {
				t.Fatalf("%s: %d %s, want %d", body, status, res, tc.status)
			}
			info, err := s.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if status != 201 {
				var e api.Error
				json.Unmarshal(res, &e)
				if !strings.Contains(e.Error, tc.msg) {
					t.Errorf("error %q, want %q in it", e.Error, tc.msg)
				}
				if info.State.LastSeq != sent {
					t.Errorf("a refused alert was published (stream at %d, was %d)", info.State.LastSeq, sent)
				}
				return
			}
			sent = info.State.LastSeq
			a := decodeAlert(t, res)
			if a.Content.Volume != tc.want || a.Content.SHA256 != tone.SHA256 {
				t.Errorf("answer: volume %d, want %d", a.Content.Volume, tc.want)
			}
			m, err := s.GetLastMsgForSubject(ctx, natsbus.AlertWard("phuong-1"))
			if err != nil {
				t.Fatal(err)
			}
			env, err := alert.ReadEnvelope(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := alert.Open(env, c.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != a.ID || got.Volume != tc.want {
				t.Errorf("signed alert %s: volume %d, want %d", got.ID, got.Volume, tc.want)
			}
		})
	}
}
