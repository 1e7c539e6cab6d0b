package commands

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"loa/command"
	"loa/internal/cmdkit"
	"loa/sqlite"
)

type fakeStore struct {
	cmds  map[string]sqlite.CityCommand
	acks  []sqlite.CommandAck
	wards map[string][]string // ward → groups
}

func (f *fakeStore) AddCommand(ctx context.Context, c sqlite.CityCommand) error {
	f.cmds[c.ID] = c
	return nil
}
func (f *fakeStore) MarkCommandPublished(ctx context.Context, id string, at time.Time) error {
	c := f.cmds[id]
	c.Published = at
	f.cmds[id] = c
	return nil
}
func (f *fakeStore) Command(ctx context.Context, id string) (sqlite.CityCommand, error) {
	c, ok := f.cmds[id]
	if !ok {
		return c, sqlite.ErrNotFound
	}
	return c, nil
}
func (f *fakeStore) UnpublishedCommands(ctx context.Context, now time.Time) ([]sqlite.CityCommand, error) {
	var out []sqlite.CityCommand
	for _, c := range f.cmds {
		if c.Published.IsZero() && c.Expires.After(now) {
			out = append(out, c)
		}
	}
	return out, nil
}
func (f *fakeStore) AddCommandAck(ctx context.Context, a sqlite.CommandAck) error {
	f.acks = append(f.acks, a)
	return nil
}
func (f *fakeStore) CommandAcks(ctx context.Context, id string) ([]sqlite.CommandAck, error) {
	var out []sqlite.CommandAck
	for _, a := range f.acks {
		if a.Command == id {
			out = append(out, a)
		}
	}
	return out, nil
}
func (f *fakeStore) WardIDs(ctx context.Context) ([]string, error) {
	var out []string
	for w := range f.wards {
		out = append(out, w)
	}
	return out, nil
}
func (f *fakeStore) Ward(ctx context.Context, id string) error {
	if _, ok := f.wards[id]; !ok {
		return sqlite.ErrNotFound
	}
	return nil
}
func (f *fakeStore) WardsInGroup(ctx context.Context, g string) ([]string, error) {
	var out []string
	for w, gs := range f.wards {
		for _, x := range gs {
			if x == g {
				out = append(out, w)
			}
		}
	}
	return out, nil
}

type fakeBus struct {
	fail     error
	subjects [][]string
}

func (b *fakeBus) PublishCommand(ctx context.Context, subjects []string, id string, env []byte) error {
	if b.fail != nil {
		return b.fail
	}
	b.subjects = append(b.subjects, subjects)
	return nil
}

type keys map[string]ed25519.PublicKey

func (k keys) ReceiptKey(ctx context.Context, w string) (ed25519.PublicKey, error) { return k[w], nil }

func subjects(all bool, r []string) []string {
	if all {
		return []string{"all"}
	}
	return r
}

func TestSendAndAcks(t *testing.T) {
	ctx := context.Background()
	_, cityKey, _ := ed25519.GenerateKey(nil)
	w1pub, w1key, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	st := &fakeStore{cmds: map[string]sqlite.CityCommand{}, wards: map[string][]string{"w1": {"q1"}, "w2": {"q1"}, "w3": nil}}
	bus := &fakeBus{fail: errors.New("no JetStream")}
	s := New(Options{Key: cityKey, Store: st, Subjects: subjects, Keys: keys{"w1": w1pub}, Now: func() time.Time { return now },
		Log: slog.New(slog.DiscardHandler)})
	s.SetBus(bus)

	// Bad input names the field and records nothing.
	for _, r := range []Request{{To: "w9", Kind: command.StopAll}, {To: "w1", Kind: "reboot"}, {To: "w1", Kind: command.Mute},
		{To: "w1", Kind: command.SyncNow, Expires: "48h"}} {
		var bad *cmdkit.BadInputError
		if _, _, err := s.Plan(ctx, r); !errors.As(err, &bad) {
			t.Errorf("%+v: %v, want bad input", r, err)
		}
	}
	c, wards, err := s.Plan(ctx, Request{To: "group:q1", Kind: command.StopAll, Args: command.Args{MuteSeconds: 60}, Sender: "lan"})
	if err != nil || strings.Join(wards, ",") != "w1,w2" {
		t.Fatalf("plan: %v %v", wards, err)
	}
	// JetStream down: recorded, not published, retried.
	if err := s.Send(ctx, c); !errors.Is(err, ErrNotPublished) {
		t.Fatalf("send with the bus down: %v", err)
	}
	bus.fail = nil
	s.PublishPending(ctx)
	if len(bus.subjects) != 1 || strings.Join(bus.subjects[0], ",") != "w1,w2" || st.cmds[c.ID].Published.IsZero() {
		t.Fatalf("published: %v %+v", bus.subjects, st.cmds[c.ID])
	}

	ack := func(key ed25519.PrivateKey, a command.Ack) []byte {
		b, err := command.SignAck(key, a)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err := s.RecordAck(ctx, "w1", ack(w1key, command.Ack{Command: c.ID, Verified: true, Ward: "w1", State: command.Done, At: now}), 1); err != nil {
		t.Fatal(err)
	}
	// An ack under another key than w1's is not recorded.
	if err := s.RecordAck(ctx, "w1", ack(other, command.Ack{Command: c.ID, Ward: "w1", State: command.Failed, At: now}), 2); err == nil {
		t.Fatal("a forged ack was recorded")
	}
	// w3 (not addressed) refuses a replay: shown, not counted.
	if err := s.RecordAck(ctx, "w3", ack(nil, command.Ack{Command: c.ID, Verified: true, Ward: "w3", State: command.Refused, Reason: "not_addressed", At: now}), 3); err != nil {
		t.Fatal(err)
	}
	got, err := s.Status(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Done != 1 || got.Refused != 0 || strings.Join(got.NoAnswer, ",") != "w2" || len(got.Acks) != 2 || got.Acks[1].Addressed {
		t.Fatalf("status: %+v", got)
	}
	// A forged id a ward refused shows, unknown to the city.
	s.RecordAck(ctx, "w1", ack(w1key, command.Ack{Command: "atk-1", Ward: "w1", State: command.Refused, Reason: "unsigned", At: now}), 4)
	if f, err := s.Status(ctx, "atk-1"); err != nil || f.Known || len(f.Acks) != 1 {
		t.Fatalf("forged: %+v %v", f, err)
	}
	if _, err := s.Status(ctx, "nothing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

// The remote-control kinds' bad arguments are refused with the field named
// in Vietnamese and English, and nothing is recorded.
func TestPlanRemoteControlKinds(t *testing.T) {
	ctx := context.Background()
	_, cityKey, _ := ed25519.GenerateKey(nil)
	st := &fakeStore{cmds: map[string]sqlite.CityCommand{}, wards: map[string][]string{"w1": nil}}
	s := New(Options{Key: cityKey, Store: st, Subjects: subjects, Now: func() time.Time { return time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC) },
		Log: slog.New(slog.DiscardHandler)})
	s.SetBus(&fakeBus{})
	loud, off := 0.0, false
	for _, tc := range []struct {
		r     Request
		field string
	}{
		{Request{To: "w1", Kind: command.TestTone, Args: command.Args{Seconds: 45}}, "args.seconds"},
		{Request{To: "w1", Kind: command.TestTone, Args: command.Args{Seconds: 5, LevelDBFS: &loud}}, "args.level_dbfs"},
		{Request{To: "w1", Kind: command.Amplifier, Args: command.Args{Seconds: 60}}, "args.on"},
		{Request{To: "w1", Kind: command.Amplifier, Args: command.Args{On: &off}}, "args.seconds"},
		{Request{To: "w1", Kind: command.Diagnostics, Args: command.Args{LogLines: 5000}}, "args.log_lines"},
	} {
		_, _, err := s.Plan(ctx, tc.r)
		var bad *cmdkit.BadInputError
		if !errors.As(err, &bad) || !strings.Contains(err.Error(), tc.field+": ") || !strings.Contains(err.Error(), " / ") {
			t.Errorf("%+v: %v, want bad input naming %s in both languages", tc.r, err, tc.field)
		}
	}
	for _, r := range []Request{
		{To: "w1", Kind: command.TestTone, Args: command.Args{Seconds: 5}},
		{To: "w1", Kind: command.Amplifier, Args: command.Args{On: &off, Seconds: 600}},
		{To: "w1", Kind: command.Restart},
	} {
		c, _, err := s.Plan(ctx, r)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if err := s.Send(ctx, c); err != nil {
			t.Fatalf("send %s: %v", r.Kind, err)
		}
	}
	if len(st.cmds) != 3 {
		t.Errorf("%d commands recorded, want the 3 good ones", len(st.cmds))
	}
	// Diagnostics go to a few wards at a time (each answers with a bundle).
	for i := range MaxDiagnosticsWards + 1 {
		st.wards[fmt.Sprintf("x%d", i)] = []string{"big"}
	}
	if _, _, err := s.Plan(ctx, Request{To: "group:big", Kind: command.Diagnostics}); err == nil || !strings.Contains(err.Error(), "to: ") {
		t.Errorf("diagnostics to %d wards: %v", MaxDiagnosticsWards+1, err)
	}
}
