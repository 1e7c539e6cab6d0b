package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"loa/alert"
	"loa/city/commands"
	"loa/command"
	"loa/internal/cmdkit"
)

type fakeCommands struct{ sent []*command.Command }

func (f *fakeCommands) Plan(ctx context.Context, r commands.Request) (*command.Command, []string, error) {
	t, err := alert.ParseTargets(r.To)
	if err != nil {
		return nil, nil, cmdkit.BadInput("to: %v", err)
	}
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	c := &command.Command{ID: "cmd-1", To: t, Recipients: t.Wards, Kind: r.Kind, Args: r.Args, Issued: now, Expires: now.Add(10 * time.Minute), Sender: r.Sender}
	if err := c.Check(); err != nil {
		return nil, nil, cmdkit.BadInput("%v", err)
	}
	return c, t.Wards, nil
}

func (f *fakeCommands) Send(ctx context.Context, c *command.Command) error {
	f.sent = append(f.sent, c)
	return nil
}

func (f *fakeCommands) Status(ctx context.Context, id string) (*commands.Status, error) {
	if id != "c1" {
		return nil, commands.ErrNotFound
	}
	return &commands.Status{ID: id, Known: true, Kind: "stop_all", To: "phuong-1", Wards: []string{"phuong-1"}}, nil
}

func TestCommandRequests(t *testing.T) {
	d, _ := testDeps(t)
	f := &fakeCommands{}
	d.Commands = f
	h := New(d).Handler()
	// An alerter may stop everything, nothing else.
	if w := do(t, h, "POST", "/api/v1/commands", "alerter", `{"to":"phuong-1","kind":"volume","args":{"db":-6}}`); w.Code != http.StatusForbidden ||
		!strings.Contains(errorText(t, w), "stop_all only") {
		t.Fatalf("alerter volume: %d %s", w.Code, w.Body)
	}
	// A bad argument names its field and sends nothing.
	if w := do(t, h, "POST", "/api/v1/commands", "technician", `{"to":"phuong-1","kind":"volume","args":{"db":6}}`); w.Code != http.StatusBadRequest ||
		!strings.Contains(errorText(t, w), "args.db") {
		t.Fatalf("volume +6: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "POST", "/api/v1/commands", "technician", `{"to":"phuong-1","kind":"volume","args":{"db":-6}}`); w.Code != http.StatusCreated {
		t.Fatalf("technician volume: %d %s", w.Code, w.Body)
	}
	if len(f.sent) != 1 || f.sent[0].Sender != "u-technician" {
		t.Fatalf("sent: %+v", f.sent)
	}
	if w := do(t, h, "GET", "/api/v1/commands/nope", "admin", ""); w.Code != http.StatusNotFound {
		t.Fatalf("unknown command: %d", w.Code)
	}
}

// volumeCommands also knows wards' volumes (commands.Service does).
type volumeCommands struct{ fakeCommands }

func (f *volumeCommands) WardVolume(ctx context.Context, ward string) (*commands.WardVolume, error) {
	if ward != "phuong-1" {
		return nil, nil
	}
	return &commands.WardVolume{DB: -6, At: time.Date(2026, 12, 6, 8, 0, 2, 0, time.UTC), Command: "cmd-1"}, nil
}

// A ward's volume is its last acknowledged volume command's; none for a
// ward that never acked one.
func TestWardVolume(t *testing.T) {
	d, _ := testDeps(t)
	d.Commands = &volumeCommands{}
	h := New(d).Handler()
	w := do(t, h, "GET", "/api/v1/wards/phuong-1/volume", "technician", "")
	var v WardVolume
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != 200 || v.VolumeDB == nil || *v.VolumeDB != -6 || v.Command != "cmd-1" {
		t.Fatalf("phuong-1: %d %s", w.Code, w.Body)
	}
	if w := do(t, h, "GET", "/api/v1/wards/phuong-2/volume", "technician", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"volume_db": null`) {
		t.Errorf("a ward that never acked a volume: %d %s", w.Code, w.Body)
	}
}

// The remote-control kinds: a technician and an admin send them, an
// alerter may not; a bad argument is named in both languages.
func TestRemoteControlCommandRoles(t *testing.T) {
	d, _ := testDeps(t)
	f := &fakeCommands{}
	d.Commands = f
	h := New(d).Handler()
	bodies := []string{
		`{"to":"phuong-1","kind":"test_tone","args":{"seconds":5,"level_dbfs":-12}}`,
		`{"to":"phuong-1","kind":"amplifier","args":{"on":false,"seconds":600}}`,
		`{"to":"phuong-1","kind":"restart"}`,
		`{"to":"phuong-1","kind":"diagnostics","args":{"log_lines":100}}`,
	}
	for _, b := range bodies {
		if w := do(t, h, "POST", "/api/v1/commands", "alerter", b); w.Code != http.StatusForbidden {
			t.Errorf("alerter %s: %d", b, w.Code)
		}
		for _, role := range []string{"technician", "admin"} {
			if w := do(t, h, "POST", "/api/v1/commands", role, b); w.Code != http.StatusCreated {
				t.Errorf("%s %s: %d %s", role, b, w.Code, w.Body)
			}
		}
	}
	if len(f.sent) != 2*len(bodies) {
		t.Fatalf("%d sent, want %d", len(f.sent), 2*len(bodies))
	}
	w := do(t, h, "POST", "/api/v1/commands", "technician", `{"to":"phuong-1","kind":"test_tone","args":{"seconds":60}}`)
	if msg := errorText(t, w); w.Code != http.StatusBadRequest || !strings.Contains(msg, "args.seconds") || !strings.Contains(msg, "giây") ||
		!strings.Contains(msg, "seconds") {
		t.Fatalf("tone of 60 s: %d %s", w.Code, msg)
	}
}
