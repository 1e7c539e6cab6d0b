package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/alert"
	"loa/city/commands"
	"loa/command"
)

type fakeCommands struct {
	mu   sync.Mutex
	sent []commands.Request
}

func (f *fakeCommands) Plan(ctx context.Context, r commands.Request) (*command.Command, []string, error) {
	t, err := alert.ParseTargets(r.To)
	if err != nil {
		return nil, nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, r)
	return &command.Command{ID: "lenh-1", To: t, Kind: r.Kind, Args: r.Args}, []string{"phuong-2"}, nil
}

func (f *fakeCommands) Send(ctx context.Context, c *command.Command) error { return nil }

func (f *fakeCommands) Status(ctx context.Context, id string) (*commands.Status, error) {
	return &commands.Status{ID: id, Known: true, Kind: "stop_all", To: "phuong-2", Wards: []string{"phuong-2"}, Done: 1,
		Acks: []commands.Ack{{Ward: "phuong-2", State: "done"}}}, nil
}

// Dừng tất cả: for those who may send it; a confirmation box; a scoped
// alerter offered her wards only and refused the others; the stop goes
// to the command service as stop_all with the chosen mute, is audited,
// and the page then shows each ward's answer.
func TestStopAllPage(t *testing.T) {
	tc, _ := startAlertConsole(t)
	fc := &fakeCommands{}
	audit := &auditLog{}
	c, err := New(Deps{Accounts: tc.accounts, Sessions: tc.sessions, Schedules: tc.programs, Commands: fc, Record: audit.record,
		Location: time.UTC, Now: func() time.Time { return tc.now }})
	if err != nil {
		t.Fatal(err)
	}
	tc.srv = httptest.NewServer(c.Handler())
	t.Cleanup(tc.srv.Close)
	tc.accounts.SetScope(context.Background(), "an", []string{"phuong-2"}, nil, "admin")

	op := browser(t)
	login(t, tc, op, "lan", "mật-khẩu-dài-1")
	if code, _, _ := do(t, op, "GET", tc.srv.URL+"/stop-all", nil, nil); code != http.StatusForbidden {
		t.Errorf("an operator on /stop-all: %d", code)
	}

	an := browser(t)
	login(t, tc, an, "an", "mật-khẩu-dài-4")
	code, _, page := do(t, an, "GET", tc.srv.URL+"/stop-all", nil, nil)
	if code != 200 || !strings.Contains(page, `value="phuong-2"`) || strings.Contains(page, `value="phuong-ben-nghe"`) || strings.Contains(page, `value="all"`) ||
		!strings.Contains(page, `<label for="stopall-mute">`) {
		t.Fatalf("the scoped alerter's form: %d\n%s", code, page)
	}
	tok := csrfOf(t, page)
	if code, _, page := do(t, an, "POST", tc.srv.URL+"/stop-all", url.Values{"csrf": {tok}, "to": {"phuong-2"}, "mute": {"30m"}}, nil); code != http.StatusBadRequest || !strings.Contains(page, "ô xác nhận") {
		t.Errorf("without the confirmation: %d", code)
	}
	if code, _, _ := do(t, an, "POST", tc.srv.URL+"/stop-all", url.Values{"csrf": {tok}, "to": {"phuong-ben-nghe"}, "mute": {"30m"}, "sure": {"on"}}, nil); code != http.StatusForbidden {
		t.Errorf("another ward: %d", code)
	}
	if code, _, _ := do(t, an, "POST", tc.srv.URL+"/stop-all", url.Values{"to": {"phuong-2"}, "mute": {"30m"}, "sure": {"on"}}, nil); code != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", code)
	}
	if len(fc.sent) != 0 {
		t.Fatalf("refused stops reached the service: %+v", fc.sent)
	}
	code, hdr, _ := do(t, an, "POST", tc.srv.URL+"/stop-all", url.Values{"csrf": {tok}, "to": {"phuong-2"}, "mute": {"30m"}, "sure": {"on"}}, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/stop-all?sent=lenh-1" {
		t.Fatalf("stop: %d %v", code, hdr)
	}
	if len(fc.sent) != 1 || fc.sent[0].Kind != command.StopAll || fc.sent[0].To != "phuong-2" || fc.sent[0].Args.MuteSeconds != 1800 || fc.sent[0].Sender != "an" {
		t.Fatalf("sent %+v", fc.sent)
	}
	if got := audit.all(); !strings.Contains(got, "console stop all") || !strings.Contains(got, "lenh-1") {
		t.Errorf("audit: %s", got)
	}
	_, _, page = do(t, an, "GET", tc.srv.URL+"/stop-all?sent=lenh-1", nil, nil)
	if !strings.Contains(page, `id="stopall-sent"`) || !strings.Contains(page, "Đã dừng") {
		t.Errorf("the answers:\n%s", page)
	}
}
