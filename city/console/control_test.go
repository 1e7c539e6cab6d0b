package console

import (
	"context"
	"encoding/json"
	"fmt"
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

// ctlCommands is the command service as the controls see it: it resolves
// wards and groups, keeps what was sent, answers with the acks set.
type ctlCommands struct {
	mu     sync.Mutex
	groups map[string][]string
	sent   []commands.Request
	status map[string]*commands.Status
	volume map[string]*commands.WardVolume
	n      int
}

func (f *ctlCommands) Plan(ctx context.Context, r commands.Request) (*command.Command, []string, error) {
	t, err := alert.ParseTargets(r.To)
	if err != nil {
		return nil, nil, err
	}
	wards := append([]string(nil), t.Wards...)
	for _, g := range t.Groups {
		wards = append(wards, f.groups[g]...)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	id := "cmd-" + string(rune('0'+f.n))
	return &command.Command{ID: id, To: t, Recipients: wards, Kind: r.Kind, Args: r.Args, Sender: r.Sender,
		Issued: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC), Expires: time.Date(2026, 12, 6, 8, 10, 0, 0, time.UTC)}, wards, nil
}

func (f *ctlCommands) Send(ctx context.Context, c *command.Command) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, commands.Request{To: c.To.String(), Kind: c.Kind, Args: c.Args, Sender: c.Sender})
	args, _ := json.Marshal(c.Args)
	f.status[c.ID] = &commands.Status{ID: c.ID, Known: true, Kind: string(c.Kind), Args: args, To: c.To.String(), Wards: c.Recipients,
		Sender: c.Sender, Issued: &c.Issued, Expires: &c.Expires, Acks: []commands.Ack{}, NoAnswer: c.Recipients}
	return nil
}

func (f *ctlCommands) Status(ctx context.Context, id string) (*commands.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.status[id]
	if !ok {
		return nil, commands.ErrNotFound
	}
	c := *st
	return &c, nil
}

func (f *ctlCommands) WardVolume(ctx context.Context, ward string) (*commands.WardVolume, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.volume[ward], nil
}

// ack records ward's answer to command id, as the service would count it.
func (f *ctlCommands) ack(id string, a commands.Ack) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status[id]
	a.Addressed = true
	st.Acks = append(st.Acks, a)
	var left []string
	for _, w := range st.NoAnswer {
		if w != a.Ward {
			left = append(left, w)
		}
	}
	st.NoAnswer = left
	switch a.State {
	case "done":
		st.Done++
	case "failed":
		st.Failed++
	case "refused":
		st.Refused++
	}
}

func (f *ctlCommands) sentCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// startControlConsole is the fleet's console with the command service:
// phuong-tot (group xa-a), phuong-im and phuong-moi (group xa-b).
func startControlConsole(t *testing.T) (*testConsole, *ctlCommands, *auditLog) {
	t.Helper()
	tc, f := startFleetConsole(t)
	tc.srv.Close()
	tc.programs.wards, _ = f.Wards(context.Background())
	fc := &ctlCommands{groups: map[string][]string{"xa-a": {"phuong-tot"}, "xa-b": {"phuong-im", "phuong-moi"}}, status: map[string]*commands.Status{},
		volume: map[string]*commands.WardVolume{"phuong-tot": {DB: -6, At: time.Date(2026, 12, 6, 0, 30, 0, 0, time.UTC), Command: "cmd-0"}}}
	audit := &auditLog{}
	now := func() time.Time { tc.mu.Lock(); defer tc.mu.Unlock(); return tc.now }
	c, err := New(Deps{Accounts: tc.accounts, Sessions: tc.sessions, Schedules: tc.programs, Fleet: f, Commands: fc, Record: audit.record,
		Location: time.FixedZone("ICT", 7*3600), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	tc.srv = httptest.NewServer(c.Handler())
	t.Cleanup(tc.srv.Close)
	tc.accounts.users["ky-thuat-2"] = &fakeUser{password: "mật-khẩu-dài-9", role: "technician", changed: true}
	tc.accounts.SetScope(context.Background(), "ky-thuat-2", []string{"phuong-tot"}, nil, "admin")
	return tc, fc, audit
}

// The controls are a technician's and an administrator's, within their
// scope: an operator sees none and is refused; a scoped technician has
// controls on her ward only, and a forged POST to another ward, or one
// without the CSRF token, is refused with nothing sent.
func TestControlRolesAndScope(t *testing.T) {
	tc, fc, _ := startControlConsole(t)
	op := browser(t)
	login(t, tc, op, "lan", "mật-khẩu-dài-1")
	code, _, page := do(t, op, "GET", tc.srv.URL+"/fleet/phuong-tot", nil, nil)
	if code != 200 || strings.Contains(page, `id="controls"`) || strings.Contains(page, `action="/commands"`) {
		t.Fatalf("an operator's ward page: %d, controls shown", code)
	}
	if _, _, page := do(t, op, "GET", tc.srv.URL+"/fleet", nil, nil); strings.Contains(page, `id="controls-multi"`) {
		t.Error("an operator's fleet page has the controls")
	}
	tok := csrfOf(t, page)
	if code, _, _ := do(t, op, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"sync_now"}, "to": {"phuong-tot"}}, nil); code != http.StatusForbidden {
		t.Errorf("an operator's command: %d", code)
	}

	kt := browser(t)
	login(t, tc, kt, "ky-thuat", "mật-khẩu-dài-2")
	code, _, page = do(t, kt, "GET", tc.srv.URL+"/fleet/phuong-tot", nil, nil)
	if code != 200 || !strings.Contains(page, `id="controls"`) {
		t.Fatalf("the technician's ward page: %d\n%s", code, page)
	}
	for _, want := range []string{"Điều khiển", "Đặt âm lượng", "Tắt tiếng chương trình", "Bật lại", "Đồng bộ ngay", "Phát âm thử", `<label for="ctl-volume-db">`,
		`min="-30" max="0"`, `<label for="ctl-mute-mute">`, `<label for="ctl-test_tone-seconds">`, "−6 dB (trạm xác nhận lúc 06/12 07:30)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the ward's controls lack %q", want)
		}
	}
	if _, _, page := do(t, kt, "GET", tc.srv.URL+"/fleet/phuong-im", nil, nil); !strings.Contains(page, "chưa rõ") {
		t.Error("a ward that never acked a volume: not 'unknown'")
	}

	sc := browser(t)
	login(t, tc, sc, "ky-thuat-2", "mật-khẩu-dài-9")
	code, _, page = do(t, sc, "GET", tc.srv.URL+"/fleet/phuong-tot", nil, nil)
	if code != 200 || !strings.Contains(page, `id="controls"`) {
		t.Fatalf("the scoped technician's own ward: %d", code)
	}
	tok = csrfOf(t, page)
	if code, _, page := do(t, sc, "GET", tc.srv.URL+"/fleet/phuong-im", nil, nil); code != http.StatusForbidden || strings.Contains(page, `id="controls"`) {
		t.Errorf("another ward's page: %d", code)
	}
	_, _, page = do(t, sc, "GET", tc.srv.URL+"/fleet", nil, nil)
	if !strings.Contains(page, `id="controls-multi"`) || !strings.Contains(page, `name="to" value="phuong-tot"`) || strings.Contains(page, `value="phuong-im"`) ||
		strings.Contains(page, `value="group:xa-b"`) || !strings.Contains(page, `value="group:xa-a"`) {
		t.Errorf("the scoped fleet form offers other wards:\n%s", page)
	}
	for _, to := range [][]string{{"phuong-im"}, {"phuong-tot", "phuong-im"}, {"group:xa-b"}, {"all"}} {
		if code, _, _ := do(t, sc, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"volume"}, "db": {"-6"}, "to": to, "sure": {"on"}}, nil); code != http.StatusForbidden {
			t.Errorf("a forged command to %v: %d", to, code)
		}
	}
	if code, _, _ := do(t, sc, "POST", tc.srv.URL+"/commands", url.Values{"kind": {"volume"}, "db": {"-6"}, "to": {"phuong-tot"}}, nil); code != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", code)
	}
	if code, _, _ := do(t, sc, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"volume"}, "db": {"-6"}, "to": {"phuong-tot"}},
		map[string]string{"Origin": "https://evil.example"}); code != http.StatusForbidden {
		t.Errorf("from another site: %d", code)
	}
	if n := fc.sentCount(); n != 0 {
		t.Fatalf("refused commands reached the service: %+v", fc.sent)
	}
	// The result page of a command to wards outside her scope.
	code, _, _ = do(t, kt, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {csrfOf(t, pageOf(t, kt, tc.srv.URL+"/fleet"))}, "kind": {"sync_now"}, "to": {"phuong-im"}}, nil)
	if code != http.StatusSeeOther {
		t.Fatalf("the technician's sync: %d", code)
	}
	if code, _, _ := do(t, sc, "GET", tc.srv.URL+"/commands/cmd-1", nil, nil); code != http.StatusForbidden {
		t.Errorf("another ward's command result: %d", code)
	}
	if code, _, _ := do(t, sc, "GET", tc.srv.URL+"/commands/cmd-1/answers", nil, nil); code != http.StatusForbidden {
		t.Errorf("another ward's command answers: %d", code)
	}
}

func pageOf(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	_, _, page := do(t, c, "GET", u, nil, nil)
	return page
}

// A bad field is named, in Vietnamese and in English, the form comes
// back with what was typed, and nothing is sent.
func TestControlBadFieldsSendNothing(t *testing.T) {
	tc, fc, _ := startControlConsole(t)
	kt := browser(t)
	login(t, tc, kt, "ky-thuat", "mật-khẩu-dài-2")
	tok := csrfOf(t, pageOf(t, kt, tc.srv.URL+"/fleet/phuong-tot"))
	for _, c := range []struct {
		form   url.Values
		vi, en string
	}{
		{url.Values{"kind": {"volume"}, "db": {"-40"}}, `Trường db (âm lượng): &#34;-40&#34; không phải là số từ -30 đến 0 dB. Chưa gửi gì.`, `Field db (volume): &#34;-40&#34; is not a number from -30 to 0 dB. Nothing was sent.`},
		{url.Values{"kind": {"volume"}, "db": {"+7"}}, `Trường db (âm lượng): &#34;&#43;7&#34;`, `Field db (volume): &#34;&#43;7&#34;`},
		{url.Values{"kind": {"volume"}, "db": {"to"}}, `Trường db (âm lượng)`, `Field db (volume)`},
		{url.Values{"kind": {"volume"}}, `Trường db (âm lượng)`, `Field db (volume)`},
		{url.Values{"kind": {"test_tone"}, "seconds": {"0"}}, `Trường seconds (thời lượng)`, `Field seconds (length)`},
		{url.Values{"kind": {"test_tone"}, "seconds": {"61"}}, `Trường seconds (thời lượng)`, `Field seconds (length)`},
		{url.Values{"kind": {"mute"}, "mute": {"5m"}}, `Trường mute (thời gian tắt tiếng)`, `Field mute (how long)`},
		{url.Values{"kind": {"stop_all"}}, `Trường kind (lệnh)`, `Field kind (command)`},
		{url.Values{"kind": {"reboot"}}, `Trường kind (lệnh)`, `Field kind (command)`},
		{url.Values{"kind": {"amplifier"}, "amp": {"maybe"}, "mute": {"1h"}}, `Trường amp (tăng âm)`, `Field amp (amplifier)`},
		{url.Values{"kind": {"amplifier"}, "amp": {"off"}, "mute": {"5m"}}, `Trường mute (thời gian tắt tiếng)`, `Field mute (how long)`},
	} {
		for _, lang := range []string{"vi", "en"} {
			f := url.Values{"csrf": {tok}, "to": {"phuong-tot"}}
			for k, v := range c.form {
				f[k] = v
			}
			u, _ := url.Parse(tc.srv.URL)
			kt.Jar.SetCookies(u, []*http.Cookie{{Name: langCookie, Value: lang}})
			code, _, page := do(t, kt, "POST", tc.srv.URL+"/commands", f, nil)
			want := c.vi
			if lang == "en" {
				want = c.en
			}
			if code != http.StatusBadRequest || !strings.Contains(page, want) || !strings.Contains(page, `id="ctl-multi"`) {
				t.Errorf("%v (%s): %d, want 400 and %q\n%s", c.form, lang, code, want, page)
			}
		}
	}
	u, _ := url.Parse(tc.srv.URL)
	kt.Jar.SetCookies(u, []*http.Cookie{{Name: langCookie, Value: "vi"}})
	code, _, page := do(t, kt, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"volume"}, "db": {"-6"}}, nil)
	if code != http.StatusBadRequest || !strings.Contains(page, "Trường to: hãy chọn ít nhất một trạm") {
		t.Errorf("no ward: %d", code)
	}
	if n := fc.sentCount(); n != 0 {
		t.Fatalf("bad commands reached the service: %+v", fc.sent)
	}
}

// A control from a ward's page goes to the service as asked and is
// audited; its result page lists the ward as not answered yet, then its
// answer: done with the volume set, the test tone's measured level, a
// failure with its reason.
func TestControlSendsAndShowsAnswers(t *testing.T) {
	tc, fc, audit := startControlConsole(t)
	kt := browser(t)
	login(t, tc, kt, "ky-thuat", "mật-khẩu-dài-2")
	tok := csrfOf(t, pageOf(t, kt, tc.srv.URL+"/fleet/phuong-tot"))
	code, hdr, _ := do(t, kt, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"volume"}, "db": {"−6,5"}, "to": {"phuong-tot"},
		"back": {"/fleet/phuong-tot"}}, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/commands/cmd-1" {
		t.Fatalf("volume: %d %v", code, hdr)
	}
	if s := fc.sent[0]; s.Kind != command.Volume || s.To != "phuong-tot" || s.Args.DB == nil || *s.Args.DB != -6.5 || s.Sender != "ky-thuat" {
		t.Fatalf("sent %+v", s)
	}
	if got := audit.all(); !strings.Contains(got, "ky-thuat | console command volume | cmd-1 | to=phuong-tot args={\"db\":-6.5}") {
		t.Errorf("audit:\n%s", got)
	}
	code, _, page := do(t, kt, "GET", tc.srv.URL+"/commands/cmd-1", nil, nil)
	if code != 200 || !strings.Contains(page, "Chưa trả lời") || !strings.Contains(page, `data-pending="true"`) || !strings.Contains(page, "Phường Tốt") ||
		!strings.Contains(page, "−6.5 dB") || !strings.Contains(page, "/static/command.js") {
		t.Fatalf("result page before the answer: %d\n%s", code, page)
	}
	fc.ack("cmd-1", commands.Ack{Ward: "phuong-tot", State: "done", At: time.Date(2026, 12, 6, 8, 0, 2, 0, time.UTC), Detail: json.RawMessage(`{"kind":"volume","volume_db":-6.5}`)})
	code, _, body := do(t, kt, "GET", tc.srv.URL+"/commands/cmd-1/answers", nil, nil)
	var v struct {
		Rows    []commandRow
		Done    int
		Pending bool
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || code != 200 {
		t.Fatalf("answers: %d %v\n%s", code, err, body)
	}
	if len(v.Rows) != 1 || v.Rows[0].State != "done" || v.Rows[0].Label != "Đã thực hiện" || v.Rows[0].Detail != "Âm lượng −6.5 dB" || v.Rows[0].At != "15:00:02" ||
		v.Done != 1 || v.Pending {
		t.Errorf("answers after the ack: %+v", v)
	}

	code, _, _ = do(t, kt, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"test_tone"}, "seconds": {"3"}, "to": {"phuong-tot"}}, nil)
	if code != http.StatusSeeOther || fc.sent[1].Kind != command.TestTone || fc.sent[1].Args.Seconds != 3 {
		t.Fatalf("test tone: %d %+v", code, fc.sent)
	}
	level := -12.04
	b, _ := json.Marshal(map[string]any{"kind": "test_tone", "level_dbfs": level})
	fc.ack("cmd-2", commands.Ack{Ward: "phuong-tot", State: "done", At: time.Date(2026, 12, 6, 8, 0, 5, 0, time.UTC), Detail: b})
	if _, _, page := do(t, kt, "GET", tc.srv.URL+"/commands/cmd-2", nil, nil); !strings.Contains(page, "Mức đo −12.0 dBFS") || !strings.Contains(page, "Đã thực hiện") ||
		!strings.Contains(page, `data-pending="false"`) {
		t.Errorf("the test tone's level:\n%s", page)
	}

	do(t, kt, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"sync_now"}, "to": {"phuong-tot"}}, nil)
	fc.ack("cmd-3", commands.Ack{Ward: "phuong-tot", State: "failed", Reason: "city unreachable", At: time.Date(2026, 12, 6, 8, 0, 5, 0, time.UTC)})
	if _, _, page := do(t, kt, "GET", tc.srv.URL+"/commands/cmd-3", nil, nil); !strings.Contains(page, "Lỗi") || !strings.Contains(page, "city unreachable") {
		t.Errorf("a failure and its reason:\n%s", page)
	}
	// Expired without an answer.
	do(t, kt, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"unmute"}, "to": {"phuong-tot"}}, nil)
	tc.advance(11 * time.Minute)
	if _, _, page := do(t, kt, "GET", tc.srv.URL+"/commands/cmd-4", nil, nil); !strings.Contains(page, "lệnh đã hết hạn") || !strings.Contains(page, `data-pending="false"`) {
		t.Errorf("expired:\n%s", page)
	}
	// The amplifier forced off for an hour; a diagnostics bundle shown
	// as the ward sent it; a restart sent as it is.
	code, _, _ = do(t, kt, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"amplifier"}, "amp": {"off"}, "mute": {"1h"}, "to": {"phuong-tot"}}, nil)
	if a := fc.sent[len(fc.sent)-1]; code != http.StatusSeeOther || a.Kind != command.Amplifier || a.Args.On == nil || *a.Args.On || a.Args.Seconds != 3600 {
		t.Fatalf("amplifier: %d %+v", code, a)
	}
	if _, _, page := do(t, kt, "GET", tc.srv.URL+fmt.Sprintf("/commands/cmd-%d", len(fc.sent)), nil, nil); !strings.Contains(page, "Tăng âm tắt · Trong 60 phút") {
		t.Errorf("the amplifier's arguments:\n%s", page)
	}
	code, _, _ = do(t, kt, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"diagnostics"}, "to": {"phuong-tot"}}, nil)
	if a := fc.sent[len(fc.sent)-1]; code != http.StatusSeeOther || a.Kind != command.Diagnostics {
		t.Fatalf("diagnostics: %d %+v", code, a)
	}
	id := fmt.Sprintf("cmd-%d", len(fc.sent))
	fc.ack(id, commands.Ack{Ward: "phuong-tot", State: "done", At: time.Date(2026, 12, 6, 8, 0, 9, 0, time.UTC),
		Detail: json.RawMessage(`{"kind":"diagnostics","diagnostics":{"ward":"phuong-tot","version":"1.2.3","log":["a <b> line"]}}`)})
	if _, _, page := do(t, kt, "GET", tc.srv.URL+"/commands/"+id, nil, nil); !strings.Contains(page, "Thông tin chẩn đoán") ||
		!strings.Contains(page, `&#34;version&#34;: &#34;1.2.3&#34;`) || !strings.Contains(page, "a &lt;b&gt; line") {
		t.Errorf("the diagnostics bundle:\n%s", page)
	}
	code, _, _ = do(t, kt, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"restart"}, "to": {"phuong-tot"}}, nil)
	if a := fc.sent[len(fc.sent)-1]; code != http.StatusSeeOther || a.Kind != command.Restart {
		t.Fatalf("restart: %d %+v", code, a)
	}
	if code, _, _ := do(t, kt, "GET", tc.srv.URL+"/commands/khong-co", nil, nil); code != http.StatusNotFound {
		t.Errorf("an unknown command: %d", code)
	}
}

// From the fleet page, one form for the chosen wards: a volume or a mute
// to more than one ward asks for a confirmation first (nothing sent
// until then); other kinds go at once; a group counts as its wards.
func TestControlSeveralWards(t *testing.T) {
	tc, fc, _ := startControlConsole(t)
	kt := browser(t)
	login(t, tc, kt, "ky-thuat", "mật-khẩu-dài-2")
	page := pageOf(t, kt, tc.srv.URL+"/fleet")
	for _, want := range []string{`id="ctl-multi"`, `name="to" value="phuong-tot"`, `name="to" value="phuong-im"`, `name="to" value="group:xa-b"`,
		`name="kind" value="volume"`, `name="kind" value="test_tone"`, `<label for="multi-db">`, `<label for="multi-mute">`, `<label for="multi-seconds">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the fleet form lacks %s", want)
		}
	}
	if strings.Contains(page, `name="kind" value="stop_all"`) {
		t.Error("stop_all is on its own page")
	}
	tok := csrfOf(t, page)
	form := url.Values{"csrf": {tok}, "kind": {"mute"}, "mute": {"1h"}, "to": {"phuong-tot", "group:xa-b"}, "back": {"/fleet"}}
	code, _, page := do(t, kt, "POST", tc.srv.URL+"/commands", form, nil)
	if code != 200 || !strings.Contains(page, `id="confirm"`) || !strings.Contains(page, "phuong-moi") || !strings.Contains(page, "Tắt tiếng chương trình") ||
		!strings.Contains(page, "60 phút") {
		t.Fatalf("mute to three wards: %d, want a confirmation\n%s", code, page)
	}
	if n := fc.sentCount(); n != 0 {
		t.Fatalf("sent before the confirmation: %+v", fc.sent)
	}
	form.Set("sure", "on")
	code, hdr, _ := do(t, kt, "POST", tc.srv.URL+"/commands", form, nil)
	muted := hdr.Get("Location")
	if code != http.StatusSeeOther || !strings.HasPrefix(muted, "/commands/") {
		t.Fatalf("confirmed: %d", code)
	}
	if s := fc.sent[0]; s.Kind != command.Mute || s.Args.MuteSeconds != 3600 || s.To != "phuong-tot,group:xa-b" {
		t.Errorf("sent %+v", s)
	}
	code, _, _ = do(t, kt, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"sync_now"}, "to": {"phuong-tot", "phuong-im"}}, nil)
	if code != http.StatusSeeOther || fc.sentCount() != 2 {
		t.Errorf("sync to two wards: %d, %d sent", code, fc.sentCount())
	}
	// One ward: no confirmation.
	code, _, _ = do(t, kt, "POST", tc.srv.URL+"/commands", url.Values{"csrf": {tok}, "kind": {"volume"}, "db": {"-3"}, "to": {"phuong-im"}}, nil)
	if code != http.StatusSeeOther || fc.sentCount() != 3 {
		t.Errorf("volume to one ward: %d", code)
	}
	// The result page of several wards: one row each.
	_, _, page = do(t, kt, "GET", tc.srv.URL+muted, nil, nil)
	if strings.Count(page, `<tr data-ward=`) != 3 {
		t.Errorf("result of the mute:\n%s", page)
	}
}
