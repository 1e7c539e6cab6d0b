package alerting

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"loa/alert"
	"loa/city/api"
	"loa/internal/cmdkit"
	"loa/sqlite"
)

func ptr[T any](v T) *T { return &v }

// An alert to a group and a ward goes once to each ward it means (a ward
// both named and in the group: once), signed, with its recipients; it is
// recorded with its wards and its status starts with every ward waiting.
func TestSendReachesEachWardOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, queued, err := f.svc.Send(ctx, api.NewAlert{To: "group:quan-1,phuong-1,phuong-3", Text: "Bão số 5 đổ bộ.", Priority: "emergency",
		Repeat: 2, GapS: ptr(3.0), Headline: "Bão số 5"}, "an")
	if err != nil || queued {
		t.Fatalf("send: %v (queued %v)", err, queued)
	}
	taken := f.bus.taken()
	if len(taken) != 3 {
		t.Fatalf("published on %d subjects, want 3: %v", len(taken), taken)
	}
	for _, w := range []string{"phuong-1", "phuong-2", "phuong-3"} {
		copies := taken["alert.ward."+w]
		if len(copies) != 1 {
			t.Fatalf("%s got %d copies, want 1", w, len(copies))
		}
		a := f.open(t, copies[0])
		if a.ID != res.ID || fmt.Sprint(a.Recipients) != "[phuong-1 phuong-2 phuong-3]" || a.Priority != alert.Emergency ||
			a.Repeat != 2 || a.GapMS != 3000 || a.Sender != "an@ubnd-hue" || a.Content.Voice != "vi" || a.Content.Speed != 150 ||
			a.Chime == nil || a.Content.Media.SHA256 != mediaOf("speech Bão số 5 đổ bộ.").SHA256 || !a.Expires.Equal(f.now.Add(30*time.Minute)) {
			t.Fatalf("copy for %s: %+v", w, a)
		}
	}
	if !strings.HasPrefix(res.ID, "cb-20260912-153000-") {
		t.Fatalf("id %s, want the city's time in it", res.ID)
	}
	if res.State != "sent" || res.Copies != 3 || res.Pending != 0 || res.Summary.Wards != 3 || res.Summary.Waiting != 3 ||
		res.Content.Kind != "text" || res.Content.DurationS != 2.5 || res.SentBy != "an" {
		t.Fatalf("status: %+v", res)
	}
	if f.media.said() != 1 {
		t.Fatalf("spoken %d times", f.media.said())
	}
	// Its wards may fetch its media, others not.
	if ok, _ := f.svc.MayFetchMedia(ctx, "phuong-2", res.Content.SHA256); !ok {
		t.Fatal("phuong-2 may not fetch the alert's speech")
	}
	if ok, _ := f.svc.MayFetchMedia(ctx, "phuong-4", res.Content.SHA256); ok {
		t.Fatal("a ward not addressed may fetch the alert's speech")
	}
	list, err := f.svc.List(ctx, 10)
	if err != nil || len(list) != 1 || list[0].ID != res.ID || list[0].Targets != "phuong-1,phuong-3,group:quan-1" {
		t.Fatalf("list: %+v %v", list, err)
	}
}

// An alert for all is one copy on the subject of all; one from a media
// item renders no speech.
func TestSendToAllWithMedia(t *testing.T) {
	f := newFixture(t)
	res, _, err := f.svc.Send(context.Background(), api.NewAlert{To: "all", Media: "coi.wav", Chime: ptr(false), Status: "Exercise"}, "an")
	if err != nil {
		t.Fatal(err)
	}
	taken := f.bus.taken()
	if len(taken) != 1 || len(taken["alert.all"]) != 1 {
		t.Fatalf("published %v", taken)
	}
	if res.Copies != 1 || res.Content.SHA256 != mediaOf("coi.wav").SHA256 || res.Content.Chime != "" || res.Status != "Exercise" ||
		res.Summary.Wards != 3 || res.Targets != "all" || f.media.said() != 0 {
		t.Fatalf("%+v", res)
	}
}

// A request with any problem is refused with a BadInputError naming what
// is wrong, and nothing is spoken, recorded or published.
func TestBadInputSendsNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// An alert to update that was cancelled already.
	old, _, err := f.svc.Send(ctx, api.NewAlert{To: "phuong-1", Media: "coi.wav"}, "an")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Cancel(ctx, old.ID, "an"); err != nil {
		t.Fatal(err)
	}
	published, spoken := len(f.bus.copies), f.media.said()
	recorded := len(f.store.alerts)
	cases := []struct {
		name string
		req  api.NewAlert
		msg  string
	}{
		{"nothing", api.NewAlert{To: "all"}, "nothing to play"},
		{"two kinds", api.NewAlert{To: "all", Text: "a", Stream: "http://x/y"}, "one of text, media and stream"},
		{"no target", api.NewAlert{Text: "Bão"}, "no target"},
		{"bad target", api.NewAlert{To: "Phuong 1", Text: "Bão"}, "to: target"},
		{"unknown ward", api.NewAlert{To: "phuong-1,phuong-99", Text: "Bão"}, "ward phuong-99 does not exist"},
		{"empty group", api.NewAlert{To: "group:quan-9", Text: "Bão"}, "group quan-9 has no ward"},
		{"priority", api.NewAlert{To: "all", Text: "Bão", Priority: "high"}, `priority "high": want emergency or urgent`},
		{"expires too long", api.NewAlert{To: "all", Text: "Bão", ExpiresS: 3 * 86400}, "expires: 72h0m0s, want more than 0 and at most 24h0m0s"},
		{"expires negative", api.NewAlert{To: "all", Text: "Bão", ExpiresS: -5}, "expires: -5s"},
		{"volume 0", api.NewAlert{To: "all", Text: "Bão", Volume: ptr(0)}, "âm lượng / volume 0: cần từ 1 đến 100"},
		{"volume 101", api.NewAlert{To: "all", Text: "Bão", Volume: ptr(101)}, "want 1-100"},
		{"repeat", api.NewAlert{To: "all", Text: "Bão", Repeat: 50}, "repeat"},
		{"blank text", api.NewAlert{To: "all", Text: "  \n "}, "text: empty"},
		{"long text", api.NewAlert{To: "all", Text: strings.Repeat("bão ", 1001)}, "at most 4000"},
		{"escape", api.NewAlert{To: "all", Text: "Bão\x1b[2J"}, "control character U+001B"},
		{"voice", api.NewAlert{To: "all", Text: "Bão", Voice: "en"}, "voice"},
		{"unknown media", api.NewAlert{To: "all", Media: "khong-co.mp3"}, "not in the city's library"},
		{"stream scheme", api.NewAlert{To: "all", Stream: "file:///etc/passwd", DurationS: 5}, "not an http"},
		{"stream no duration", api.NewAlert{To: "all", Stream: "http://radio.example/live"}, "duration"},
		{"stream silent", api.NewAlert{To: "all", Stream: "http://radio.example/off", DurationS: 60}, "stream http://radio.example/off does not answer: connection refused"},
		{"update unknown", api.NewAlert{To: "all", Text: "Bão", Update: "cb-nope"}, "update: no alert cb-nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, queued, err := f.svc.Send(ctx, tc.req, "an")
			var bad *cmdkit.BadInputError
			if !errors.As(err, &bad) || !strings.Contains(err.Error(), tc.msg) || queued {
				t.Fatalf("got %v (%T), want a BadInputError with %q", err, err, tc.msg)
			}
		})
	}
	// Updating a cancelled alert is a conflict, not bad input.
	if _, _, err := f.svc.Send(ctx, api.NewAlert{To: "all", Text: "Bão", Update: old.ID}, "an"); !errors.Is(err, ErrAlertConflict) ||
		!strings.Contains(err.Error(), "already stopped") {
		t.Fatalf("update of a cancelled alert: %v", err)
	}
	if len(f.bus.copies) != published || f.media.said() != spoken || len(f.store.alerts) != recorded {
		t.Fatalf("a refused request left traces: %d copies (was %d), %d spoken (was %d), %d alerts (was %d)",
			len(f.bus.copies), published, f.media.said(), spoken, len(f.store.alerts), recorded)
	}
}

// Without the city's NATS an alert is refused (after its checks: bad
// input is still named) and nothing is recorded.
func TestNoNATS(t *testing.T) {
	f := newFixture(t)
	f.svc.SetPublisher(nil)
	ctx := context.Background()
	var bad *cmdkit.BadInputError
	if _, _, err := f.svc.Send(ctx, api.NewAlert{To: "all"}, "an"); !errors.As(err, &bad) {
		t.Fatalf("bad input without NATS: %v", err)
	}
	if _, _, err := f.svc.Send(ctx, api.NewAlert{To: "all", Text: "Bão"}, "an"); !errors.Is(err, ErrNoNATS) {
		t.Fatalf("without NATS: %v", err)
	}
	if _, err := f.svc.StartLive(ctx, api.NewLive{To: "all", Stream: "http://radio.example/live"}, "an"); !errors.Is(err, ErrNoNATS) {
		t.Fatalf("live without NATS: %v", err)
	}
	if len(f.store.alerts) != 0 || f.media.said() != 0 || f.svc.Problems() != nil {
		t.Fatalf("recorded %d, spoken %d, problems %v", len(f.store.alerts), f.media.said(), f.svc.Problems())
	}
}

// When NATS takes no copy the alert is recorded as queued and Send says
// loudly it is NOT sent (ErrAlertNotPublished), counted and on the
// health; once NATS takes it, the copies go out and the problem clears.
func TestPublishFailureIsLoud(t *testing.T) {
	f := newFixture(t)
	f.svc.sendWait = 300 * time.Millisecond
	ctx := context.Background()
	full := errors.New("insufficient resources")
	f.bus.setRefuse(full)
	res, queued, err := f.svc.Send(ctx, api.NewAlert{To: "phuong-1,phuong-2", Media: "coi.wav"}, "an")
	if !errors.Is(err, ErrAlertNotPublished) || !queued || res.ID != "" {
		t.Fatalf("send while NATS refuses: %+v queued %v err %v", res, queued, err)
	}
	if !strings.Contains(err.Error(), "recorded but NOT sent") || !strings.Contains(err.Error(), "did not take 2 of its copies: insufficient resources") {
		t.Fatalf("error: %v", err)
	}
	list, _ := f.svc.List(ctx, 10)
	if len(list) != 1 {
		t.Fatalf("alerts recorded: %+v", list)
	}
	id := list[0].ID
	if !strings.Contains(err.Error(), id) {
		t.Fatalf("error does not name alert %s: %v", id, err)
	}
	st, _ := f.svc.Status(ctx, id)
	if st.State != "queued" || st.Pending != 2 || st.Copies != 2 {
		t.Fatalf("status: %+v", st)
	}
	h := f.svc.Health()
	if h.SendFailed != 1 || h.Unpublished != 2 || h.Errors["store_full"] < 2 {
		t.Fatalf("health: %+v", h)
	}
	// The background round counts it too, and /healthz says it.
	if left := f.svc.PublishPending(ctx); left != 2 {
		t.Fatalf("left %d", left)
	}
	if ps := f.svc.Problems(); len(ps) != 1 || !strings.Contains(ps[0], "2 alert copies not published: insufficient resources") {
		t.Fatalf("problems: %q", ps)
	}
	f.bus.setRefuse(nil)
	if left := f.svc.PublishPending(ctx); left != 0 {
		t.Fatalf("left %d after NATS came back", left)
	}
	if st, _ := f.svc.Status(ctx, id); st.State != "sent" || st.Pending != 0 {
		t.Fatalf("status after NATS came back: %+v", st)
	}
	if ps := f.svc.Problems(); len(ps) != 0 {
		t.Fatalf("problems after NATS came back: %q", ps)
	}
	if n := len(f.bus.taken()["alert.ward.phuong-1"]); n != 1 {
		t.Fatalf("phuong-1 got %d copies", n)
	}
	// The bus's own problems come first.
	f.bus.problems = []string{"mất kết nối NATS / not connected to NATS: RECONNECTING"}
	if ps := f.svc.Problems(); len(ps) != 1 || !strings.Contains(ps[0], "RECONNECTING") {
		t.Fatalf("problems: %q", ps)
	}
}

// The store refusing the alert is an error, and nothing is published.
func TestStoreFailureSendsNothing(t *testing.T) {
	f := newFixture(t)
	f.store.failAdd = errors.New("disk I/O error")
	if _, queued, err := f.svc.Send(context.Background(), api.NewAlert{To: "all", Media: "coi.wav"}, "an"); err == nil || queued ||
		!strings.Contains(err.Error(), "disk I/O error") {
		t.Fatalf("send: %v queued %v", err, queued)
	}
	if len(f.bus.copies) != 0 {
		t.Fatalf("published %d copies of an alert not recorded", len(f.bus.copies))
	}
}

// A cancel is a signed Cancel on the subjects the alert went on; an alert
// cancelled, expired or unknown cannot be cancelled.
func TestCancelPublishesCancel(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, _, err := f.svc.Send(ctx, api.NewAlert{To: "group:quan-1", Media: "coi.wav"}, "an")
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	res, queued, err := f.svc.Cancel(ctx, a.ID, "binh")
	if err != nil || queued {
		t.Fatalf("cancel: %v", err)
	}
	if res.ID != a.ID || res.State != "cancelled" || res.CancelledBy == "" {
		t.Fatalf("after cancel: %+v", res)
	}
	for _, w := range []string{"phuong-1", "phuong-2"} {
		copies := f.bus.taken()["alert.ward."+w]
		if len(copies) != 2 {
			t.Fatalf("%s got %d messages, want the alert and its cancel", w, len(copies))
		}
		c := f.open(t, copies[1])
		if c.MsgType != alert.MsgCancel || c.References[0] != a.ID || c.ID != res.CancelledBy || !c.Expires.Equal(a.Expires) ||
			c.Sender != "binh@ubnd-hue" || fmt.Sprint(c.Recipients) != "[phuong-1 phuong-2]" {
			t.Fatalf("cancel for %s: %+v", w, c)
		}
	}
	if _, _, err := f.svc.Cancel(ctx, a.ID, "an"); !errors.Is(err, ErrAlertConflict) || !strings.Contains(err.Error(), "already stopped by "+res.CancelledBy) {
		t.Fatalf("cancel twice: %v", err)
	}
	if _, _, err := f.svc.Cancel(ctx, res.CancelledBy, "an"); !errors.Is(err, ErrAlertConflict) || !strings.Contains(err.Error(), "is a cancel") {
		t.Fatalf("cancel a cancel: %v", err)
	}
	if _, _, err := f.svc.Cancel(ctx, "cb-nope", "an"); !errors.Is(err, ErrAlertNotFound) {
		t.Fatalf("cancel unknown: %v", err)
	}
	if _, err := f.svc.Status(ctx, "cb-nope"); !errors.Is(err, ErrAlertNotFound) {
		t.Fatalf("status unknown: %v", err)
	}
	// Expired: too late to cancel.
	b, _, _ := f.svc.Send(ctx, api.NewAlert{To: "phuong-3", Media: "coi.wav", ExpiresS: 60}, "an")
	f.now = f.now.Add(time.Minute)
	if _, _, err := f.svc.Cancel(ctx, b.ID, "an"); !errors.Is(err, ErrAlertConflict) || !strings.Contains(err.Error(), "expired at") {
		t.Fatalf("cancel expired: %v", err)
	}
	if st, _ := f.svc.Status(ctx, b.ID); st.State != "expired" {
		t.Fatalf("state %s", st.State)
	}
}

// An update stops the alert it replaces, in the same record.
func TestUpdateStopsTheOld(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, _, _ := f.svc.Send(ctx, api.NewAlert{To: "phuong-1", Media: "coi.wav"}, "an")
	b, _, err := f.svc.Send(ctx, api.NewAlert{To: "phuong-1", Media: "coi.wav", Update: a.ID}, "an")
	if err != nil || b.MsgType != string(alert.MsgUpdate) || b.References[0] != a.ID {
		t.Fatalf("update: %+v %v", b, err)
	}
	if st, _ := f.svc.Status(ctx, a.ID); st.State != "cancelled" || st.CancelledBy != b.ID {
		t.Fatalf("old: %+v", st)
	}
}

func receipt(t *testing.T, key ed25519.PrivateKey, r alert.Report) []byte {
	t.Helper()
	var b []byte
	var err error
	if key == nil {
		b, err = alert.EncodeReport(r)
	} else {
		b, err = alert.SignReport(key, r)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The wards' receipts make an alert's status: the time of each step, the
// furthest state reached (a replay refused after playing does not undo
// "finished"); a ward with a registered key is read only when signed by
// it; a receipt for an alert the city does not know, or from a ward the
// alert was not for, is recorded (as the city always did) but counts in
// no alert's summary.
func TestReceiptsMakeStatus(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, _, err := f.svc.Send(ctx, api.NewAlert{To: "phuong-1,phuong-3", Media: "coi.wav"}, "an")
	if err != nil {
		t.Fatal(err)
	}
	wardPub, wardKey, _ := ed25519.GenerateKey(nil)
	f.keys.keys["phuong-3"] = wardPub
	var seq uint64
	take := func(ward string, data []byte) error {
		t.Helper()
		seq++
		rep, err := f.svc.OpenReceipt(ctx, ward, data, seq)
		if err != nil {
			return err
		}
		if rep.Ward != ward || rep.StreamSeq != seq || !rep.ReceivedAt.Equal(f.now) {
			t.Fatalf("receipt as recorded: %+v", rep)
		}
		if err := f.svc.RecordReceipts(ctx, []sqlite.AlertReport{rep}); err != nil {
			t.Fatal(err)
		}
		return nil
	}
	at := func(ms int) time.Time { return a.Issued.Add(time.Duration(ms) * time.Millisecond) }
	for i, st := range []alert.State{alert.Received, alert.Started, alert.Finished} {
		if err := take("phuong-3", receipt(t, wardKey, alert.Report{Alert: a.ID, Verified: true, Ward: "phuong-3", State: st, At: at(100 * (i + 1)), FetchMS: 40})); err != nil {
			t.Fatal(err)
		}
	}
	if err := take("phuong-3", receipt(t, wardKey, alert.Report{Alert: a.ID, Verified: true, Ward: "phuong-3", State: alert.Rejected, Reason: alert.ReasonReplay, At: at(1000)})); err != nil {
		t.Fatal(err)
	}
	// Forged receipts for phuong-3: unsigned, or signed by another key.
	_, otherKey, _ := ed25519.GenerateKey(nil)
	for _, data := range [][]byte{
		receipt(t, nil, alert.Report{Alert: a.ID, Verified: true, Ward: "phuong-3", State: alert.Failed, At: at(2000)}),
		receipt(t, otherKey, alert.Report{Alert: a.ID, Verified: true, Ward: "phuong-3", State: alert.Failed, At: at(2000)}),
	} {
		if err := take("phuong-3", data); !Forged(err) {
			t.Fatalf("forged receipt: %v", err)
		}
	}
	// Garbage from a ward with a key is not signed by it either; from a
	// ward with none it is merely unreadable.
	if err := take("phuong-3", []byte("{not json")); !Forged(err) {
		t.Fatalf("garbage from a ward with a key: %v", err)
	}
	if err := take("phuong-1", []byte("{not json")); err == nil || Forged(err) {
		t.Fatalf("unreadable receipt: %v", err)
	}
	// phuong-1 has no key yet: read as before.
	if err := take("phuong-1", receipt(t, nil, alert.Report{Alert: a.ID, Verified: true, Ward: "phuong-1", State: alert.Received, At: at(150)})); err != nil {
		t.Fatal(err)
	}
	// A ward the alert was not for, and an alert nobody sent.
	if err := take("phuong-2", receipt(t, nil, alert.Report{Alert: a.ID, Verified: true, Ward: "phuong-2", State: alert.Finished, At: at(500)})); err != nil {
		t.Fatal(err)
	}
	if err := take("phuong-2", receipt(t, nil, alert.Report{Alert: "cb-20260912-000000-abcdef", Verified: true, Ward: "phuong-2", State: alert.Finished, At: at(500)})); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Status(ctx, "cb-20260912-000000-abcdef"); !errors.Is(err, ErrAlertNotFound) {
		t.Fatalf("status of an alert nobody sent: %v", err)
	}

	st, err := f.svc.Status(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	byWard := map[string]api.WardAlertState{}
	for _, w := range st.Wards {
		byWard[w.Ward] = w
	}
	w3 := byWard["phuong-3"]
	if w3.State != "finished" || w3.Rejections != 1 || *w3.ReceivedMS != 100 || *w3.StartedMS != 200 || *w3.FinishedMS != 300 || w3.FetchMS != 40 {
		t.Fatalf("phuong-3: %+v", w3)
	}
	if w1 := byWard["phuong-1"]; w1.State != "received" || *w1.ReceivedMS != 150 {
		t.Fatalf("phuong-1: %+v", w1)
	}
	if w2, ok := byWard["phuong-2"]; !ok || w2.State != "finished" {
		t.Fatalf("phuong-2 (not addressed) does not show: %+v", st.Wards)
	}
	if s := st.Summary; s.Wards != 2 || s.Finished != 1 || s.Received != 1 || s.Done != 1 {
		t.Fatalf("summary: %+v", s)
	}
	if last, _ := f.svc.LastReceiptSeq(ctx); last != seq {
		t.Fatalf("last receipt seq %d, want %d", last, seq)
	}
	// A ward's key that cannot be read now: neither taken nor refused.
	f.keys.err = errors.New("database is locked")
	var keyErr *KeyError
	if _, err := f.svc.OpenReceipt(ctx, "phuong-3", receipt(t, wardKey, alert.Report{Alert: a.ID, Verified: true, Ward: "phuong-3", State: alert.Finished, At: at(1)}), 99); !errors.As(err, &keyErr) {
		t.Fatalf("key not read: %v", err)
	}
}

// A live announcement is signed, sent to its wards' subjects, sent again
// while it lasts, listed, and stopped with a signed stop sent three
// times.
func TestLiveStartRepeatStop(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var bad *cmdkit.BadInputError
	for _, req := range []api.NewLive{
		{To: "phuong-9", Stream: "http://radio.example/live"},
		{To: "all", Stream: "http://radio.example/off"},
		{To: "Phuong 1", Stream: "http://radio.example/live"},
	} {
		if _, err := f.svc.StartLive(ctx, req, "an"); !errors.As(err, &bad) {
			t.Fatalf("%+v: %v", req, err)
		}
	}
	if err := f.svc.StopLive(ctx, "not an id!", "an"); !errors.As(err, &bad) {
		t.Fatalf("stop bad id: %v", err)
	}
	if len(f.bus.live) != 0 {
		t.Fatalf("sent %d live messages for refused requests", len(f.bus.live))
	}
	l, err := f.svc.StartLive(ctx, api.NewLive{To: "group:quan-1", Stream: "http://radio.example/live", Title: "Họp dân", ExpiresS: 600}, "an")
	if err != nil {
		t.Fatal(err)
	}
	if l.Mode != "duck" || l.DuckDB != -15 || l.Wards != 2 || !strings.HasPrefix(l.ID, "live-cb-") || l.By != "an" {
		t.Fatalf("live: %+v", l)
	}
	if len(f.bus.live) != 2 || f.bus.live[0].subject != "live.ward.phuong-1" || f.bus.live[1].subject != "live.ward.phuong-2" {
		t.Fatalf("sent: %+v", f.bus.live)
	}
	got, err := alert.OpenLive(f.bus.live[0].data, f.pub)
	if err != nil || got.Kind != alert.LiveStart || got.ID != l.ID || fmt.Sprint(got.Recipients) != "[phuong-1 phuong-2]" {
		t.Fatalf("signed start: %+v %v", got, err)
	}
	if ls := f.svc.ListLive(); len(ls) != 1 || ls[0].ID != l.ID {
		t.Fatalf("on air: %+v", ls)
	}
	f.svc.resendLive()
	if len(f.bus.live) != 4 {
		t.Fatalf("not sent again: %d messages", len(f.bus.live))
	}
	if err := f.svc.StopLive(ctx, l.ID, "an"); err != nil {
		t.Fatal(err)
	}
	if len(f.bus.live) != 10 {
		t.Fatalf("stop sent %d messages, want 3 to each of 2 wards", len(f.bus.live)-4)
	}
	stop, err := alert.OpenLive(f.bus.live[9].data, f.pub)
	if err != nil || stop.Kind != alert.LiveStop || stop.ID != l.ID {
		t.Fatalf("signed stop: %+v %v", stop, err)
	}
	if ls := f.svc.ListLive(); len(ls) != 0 {
		t.Fatalf("still on air: %+v", ls)
	}
	// One that expires is dropped at the next repeat; a stop of one the
	// city does not know goes to all.
	if _, err := f.svc.StartLive(ctx, api.NewLive{To: "all", Stream: "http://radio.example/live", ExpiresS: 60}, "an"); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	n := len(f.bus.live)
	f.svc.resendLive()
	if len(f.bus.live) != n || len(f.svc.ListLive()) != 0 {
		t.Fatalf("an expired live announcement was sent again")
	}
	if err := f.svc.StopLive(ctx, alert.StopAll, "an"); err != nil {
		t.Fatal(err)
	}
	if last := f.bus.live[len(f.bus.live)-1]; last.subject != "live.all" || len(f.bus.live) != n+3 {
		t.Fatalf("stop all: %+v", last)
	}
}
