package alerting

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/alert"
	"loa/city/api"
	"loa/internal/cmdkit"
	"loa/sqlite"
)

// fakeRepeats keeps schedules as the city's database does.
type fakeRepeats struct {
	mu   sync.Mutex
	rows map[string]sqlite.AlertRepeat
}

func (f *fakeRepeats) AddAlertRepeat(ctx context.Context, r sqlite.AlertRepeat) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.rows[r.ID]; ok {
		return sqlite.ErrExists
	}
	f.rows[r.ID] = r
	return nil
}

func (f *fakeRepeats) ActiveAlertRepeats(ctx context.Context) ([]sqlite.AlertRepeat, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sqlite.AlertRepeat
	for _, r := range f.rows {
		if r.State == "active" {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b sqlite.AlertRepeat) int { return a.Next.Compare(b.Next) })
	return out, nil
}

func (f *fakeRepeats) AlertRepeats(ctx context.Context, limit int) ([]sqlite.AlertRepeat, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sqlite.AlertRepeat
	for _, r := range f.rows {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b sqlite.AlertRepeat) int { return strings.Compare(b.ID, a.ID) })
	return out[:min(limit, len(out))], nil
}

func (f *fakeRepeats) SetAlertRepeat(ctx context.Context, r sqlite.AlertRepeat) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.rows[r.ID]; !ok {
		return sqlite.ErrNotFound
	}
	f.rows[r.ID] = r
	return nil
}

func (f *fakeRepeats) get(id string) sqlite.AlertRepeat {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rows[id]
}

// repeatFixture is the fixture whose service keeps repeats; restart
// builds a new service over the same database, as a restarted city.
type repeatFixture struct {
	*fixture
	reps  *fakeRepeats
	audit []string
}

func newRepeatFixture(t *testing.T) *repeatFixture {
	f := &repeatFixture{fixture: newFixture(t), reps: &fakeRepeats{rows: map[string]sqlite.AlertRepeat{}}}
	f.restart()
	return f
}

func (f *repeatFixture) restart() {
	old := f.svc
	f.svc = New(Options{Config: old.cfg, Store: f.store, Media: f.media, Streams: old.streams, ReceiptKeys: f.keys, Key: old.key,
		Now: func() time.Time { return f.now }, Location: old.loc, Repeats: f.reps,
		Audit: func(ctx context.Context, actor, action, target, detail string) {
			f.audit = append(f.audit, action+" "+target)
		}})
	f.svc.SetPublisher(f.bus)
}

// copiesTo is every alert published to a ward's subject, in order.
func (f *repeatFixture) copiesTo(t *testing.T, ward string) []*alert.Alert {
	var out []*alert.Alert
	for _, data := range f.bus.taken()["alert.ward."+ward] {
		out = append(out, f.open(t, data))
	}
	return out
}

func (f *repeatFixture) sendRepeated(t *testing.T, every float64, until time.Duration) api.Alert {
	t.Helper()
	end := f.now.Add(until)
	res, _, err := f.svc.Send(context.Background(), api.NewAlert{To: "phuong-1", Text: "Bão số 5: không ra khơi.", Priority: "urgent",
		EveryH: every, Until: &end}, "an")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Every 2 hours until 7 hours later: sent at once, re-sent at +2 h as an
// Update of the first (not before, not twice), again at +4 h and +6 h, and
// the series ends at its end with nothing more; a city restarted between
// two re-sends keeps the schedule.
func TestRepeatEveryNHoursUntilTheEnd(t *testing.T) {
	f := newRepeatFixture(t)
	ctx := context.Background()
	first := f.sendRepeated(t, 2, 7*time.Hour)
	if got := f.copiesTo(t, "phuong-1"); len(got) != 1 {
		t.Fatalf("sent %d times at once", len(got))
	}
	f.now = f.now.Add(2*time.Hour - time.Second)
	if n := f.svc.RepeatDue(ctx); n != 0 {
		t.Fatalf("re-sent %d before +2 h", n)
	}
	f.now = f.now.Add(time.Second)
	if n := f.svc.RepeatDue(ctx); n != 1 {
		t.Fatalf("re-sent %d at +2 h, want 1", n)
	}
	if n := f.svc.RepeatDue(ctx); n != 0 {
		t.Fatalf("re-sent %d again at the same time", n)
	}
	got := f.copiesTo(t, "phuong-1")
	if len(got) != 2 {
		t.Fatalf("%d copies after +2 h", len(got))
	}
	// The first alert lived 30 min: the re-send is a new alert, not an
	// update of an expired one.
	if got[1].ID == first.ID || got[1].Content.Text != "Bão số 5: không ra khơi." || got[1].MsgType != alert.MsgAlert {
		t.Fatalf("re-send: %+v", got[1])
	}
	f.restart() // a city restart keeps the schedule
	f.now = f.now.Add(2 * time.Hour)
	if n := f.svc.RepeatDue(ctx); n != 1 {
		t.Fatalf("re-sent %d at +4 h after a restart, want 1", n)
	}
	f.now = f.now.Add(2 * time.Hour)
	if n := f.svc.RepeatDue(ctx); n != 1 {
		t.Fatalf("re-sent %d at +6 h, want 1", n)
	}
	if r := f.reps.get(first.ID); r.State != "ended" || r.Sent != 4 {
		t.Fatalf("after the last re-send before the end: %+v", r)
	}
	f.now = f.now.Add(2 * time.Hour)
	if n := f.svc.RepeatDue(ctx); n != 0 || len(f.copiesTo(t, "phuong-1")) != 4 {
		t.Fatalf("re-sent past the end: %d, %d copies", n, len(f.copiesTo(t, "phuong-1")))
	}
	list, err := f.svc.Repeats(ctx, 10)
	if err != nil || len(list) != 1 || list[0].State != "ended" || list[0].Sent != 4 || list[0].EveryH != 2 || list[0].Next != nil {
		t.Fatalf("repeats: %+v %v", list, err)
	}
}

// While the last alert still plays, the re-send replaces it (an Update
// referring to it). A cancel of the series' first alert stops the series
// and cancels the alert current at the wards; nothing is re-sent after.
func TestRepeatStoppedByCancel(t *testing.T) {
	f := newRepeatFixture(t)
	ctx := context.Background()
	f.svc.cfg.DefaultExpires = 3 * time.Hour // each alert outlives the gap
	first := f.sendRepeated(t, 1, 12*time.Hour)
	f.now = f.now.Add(time.Hour)
	if n := f.svc.RepeatDue(ctx); n != 1 {
		t.Fatalf("re-sent %d at +1 h", n)
	}
	got := f.copiesTo(t, "phuong-1")
	if len(got) != 2 || got[1].MsgType != alert.MsgUpdate || !slices.Equal(got[1].References, []string{first.ID}) {
		t.Fatalf("re-send while the first plays: %+v", got[len(got)-1])
	}
	second := got[1].ID
	f.now = f.now.Add(10 * time.Minute)
	if _, _, err := f.svc.Cancel(ctx, first.ID, "binh"); err != nil {
		t.Fatalf("cancel the series by its first alert: %v", err)
	}
	got = f.copiesTo(t, "phuong-1")
	if c := got[len(got)-1]; c.MsgType != alert.MsgCancel || !slices.Equal(c.References, []string{second}) {
		t.Fatalf("the cancel went to %v, want the current alert %s", c.References, second)
	}
	if r := f.reps.get(first.ID); r.State != "stopped" || !strings.Contains(r.Reason, "binh") {
		t.Fatalf("after the cancel: %+v", r)
	}
	n := len(got)
	for range 5 {
		f.now = f.now.Add(time.Hour)
		f.svc.RepeatDue(ctx)
	}
	if len(f.copiesTo(t, "phuong-1")) != n {
		t.Fatal("re-sent after a cancel")
	}
	if !slices.Contains(f.audit, "alert.repeat_stop "+first.ID) {
		t.Fatalf("the stop is not audited: %v", f.audit)
	}
}

// Someone else's Update of the current alert replaces the series: the
// next due time re-sends nothing, and the series says what stopped it.
func TestRepeatStoppedByUpdate(t *testing.T) {
	f := newRepeatFixture(t)
	ctx := context.Background()
	f.svc.cfg.DefaultExpires = 3 * time.Hour
	first := f.sendRepeated(t, 2, 12*time.Hour)
	f.now = f.now.Add(30 * time.Minute)
	upd, _, err := f.svc.Send(ctx, api.NewAlert{To: "phuong-1", Text: "Bão số 5 đã tan.", Update: first.ID}, "binh")
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.copiesTo(t, "phuong-1"))
	f.now = f.now.Add(2 * time.Hour)
	if got := f.svc.RepeatDue(ctx); got != 0 || len(f.copiesTo(t, "phuong-1")) != n {
		t.Fatalf("re-sent %d after an update replaced it", got)
	}
	if r := f.reps.get(first.ID); r.State != "stopped" || !strings.Contains(r.Reason, upd.ID) {
		t.Fatalf("after the update: %+v", r)
	}
}

// Bad repeats are refused naming the field, and send nothing.
func TestRepeatRefusesBadInput(t *testing.T) {
	f := newRepeatFixture(t)
	ctx := context.Background()
	soon, far := f.now.Add(time.Hour), f.now.Add(8*24*time.Hour)
	ok := f.now.Add(6 * time.Hour)
	for _, c := range []struct {
		req   api.NewAlert
		field string
	}{
		{api.NewAlert{To: "phuong-1", Text: "x", EveryH: 2}, "until"},
		{api.NewAlert{To: "phuong-1", Text: "x", Until: &ok}, "every_h"},
		{api.NewAlert{To: "phuong-1", Text: "x", EveryH: 0.1, Until: &ok}, "every_h"},
		{api.NewAlert{To: "phuong-1", Text: "x", EveryH: 25, Until: &ok}, "every_h"},
		{api.NewAlert{To: "phuong-1", Text: "x", EveryH: 2, Until: &soon}, "until"},
		{api.NewAlert{To: "phuong-1", Text: "x", EveryH: 2, Until: &far}, "until"},
	} {
		_, _, err := f.svc.Send(ctx, c.req, "an")
		var bad *cmdkit.BadInputError
		if !errors.As(err, &bad) || !strings.HasPrefix(err.Error(), c.field+":") {
			t.Fatalf("%+v: %v, want a bad input naming %s", c.req, err, c.field)
		}
	}
	if len(f.bus.taken()) != 0 || len(f.reps.rows) != 0 {
		t.Fatal("a refused repeat sent or recorded something")
	}
}

// An emergency that waits for approval starts its series only when a
// second person approves it, in the name of the one who asked; the
// re-sends are not held again.
func TestRepeatStartsOnApproval(t *testing.T) {
	f := newApprovalFixture(t, false)
	reps := &fakeRepeats{rows: map[string]sqlite.AlertRepeat{}}
	f.svc.repeats = reps
	ctx := context.Background()
	end := f.now.Add(6 * time.Hour)
	_, _, err := f.svc.Send(ctx, api.NewAlert{To: "group:quan-1", Text: "Lũ trên sông Hương.", Priority: "emergency", EveryH: 2, Until: &end}, "an")
	var pending *PendingError
	if !errors.As(err, &pending) || len(reps.rows) != 0 || len(f.bus.taken()) != 0 {
		t.Fatalf("send: %v; %d series, %d subjects", err, len(reps.rows), len(f.bus.taken()))
	}
	_, res, _, err := f.svc.Approve(ctx, pending.Request.ID, "binh", RoleApprover)
	if err != nil {
		t.Fatal(err)
	}
	r := reps.get(res.ID)
	if r.State != "active" || r.SentBy != "an" || r.Every != 2*time.Hour || !r.Until.Equal(end) {
		t.Fatalf("series after approval: %+v", r)
	}
	f.now = f.now.Add(2 * time.Hour)
	if n := f.svc.RepeatDue(ctx); n != 1 {
		t.Fatalf("re-sent %d at +2 h", n)
	}
	if rows, _ := f.reqs.AlertRequests(ctx, 10); len(rows) != 1 {
		t.Fatalf("the re-send was held again: %d requests", len(rows))
	}
}
