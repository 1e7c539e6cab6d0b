package audit

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type fakeStore struct {
	rows []Entry
	fail bool
}

func (f *fakeStore) AddAudit(_ context.Context, e Entry) error {
	if f.fail {
		return errors.New("disk full")
	}
	f.rows = append([]Entry{e}, f.rows...)
	return nil
}

func (f *fakeStore) Audit(_ context.Context, _ Filter) ([]Entry, error) { return f.rows, nil }

func TestRecordKeepsWhoWhatWhenWhere(t *testing.T) {
	st := &fakeStore{}
	var logs strings.Builder
	l := New(st, slog.New(slog.NewTextHandler(&logs, nil)))
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return at }
	ctx, cancel := context.WithCancel(WithAddress(context.Background(), "10.0.0.7"))
	cancel() // a client gone after the change: the record is still written
	l.Record(ctx, "lan", "user.add", "moi", "role operator")
	got, _ := l.List(context.Background(), Filter{})
	if len(got) != 1 || got[0] != (Entry{At: at, Actor: "lan", Action: "user.add", Target: "moi", Detail: "role operator", Address: "10.0.0.7"}) {
		t.Fatalf("recorded %+v", got)
	}
	st.fail = true
	l.Record(context.Background(), "loa-city", "ward.add", "phuong-1", "")
	if !strings.Contains(logs.String(), "could not be recorded") || !strings.Contains(logs.String(), "phuong-1") {
		t.Fatalf("a failed record is not reported: %s", logs.String())
	}
}
