package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"loa/city/accounts"
	"loa/city/api"
	"loa/city/library"
	"loa/city/programs"
	"loa/internal/cmdkit"
	"loa/schedule"
	"loa/signing"
)

// Fakes behind every interface the API declares: plain structs that
// answer what a test sets, so that each route runs without a database,
// NATS, ffmpeg or a console.

// fakeAccounts knows one token per role: the token is the role's name
// ("ward" for the ward phuong-1).
type fakeAccounts struct{ receiptKeyErr error }

func (fakeAccounts) LookupToken(ctx context.Context, tok string) (accounts.Principal, error) {
	switch tok {
	case accounts.RoleWard:
		return accounts.Principal{Ward: "phuong-1", Role: accounts.RoleWard}, nil
	case "admin", "operator", "alerter", "approver", "technician":
		return accounts.Principal{User: "u-" + tok, Role: tok}, nil
	case "operator-q1", "alerter-q1", "approver-q1":
		return accounts.Principal{User: "u-" + tok, Role: strings.TrimSuffix(tok, "-q1"), Scope: scopeQ1}, nil
	}
	return accounts.Principal{}, accounts.ErrUnknownToken
}

func (fakeAccounts) Ward(ctx context.Context, id string) (accounts.Ward, error) {
	return accounts.Ward{ID: id}, nil
}

func (fakeAccounts) Users(ctx context.Context) ([]accounts.User, error) { return nil, nil }

// scopeQ1 is the scope of the tokens and sessions named *-q1: group
// quan-1 (wards ben-nghe and da-kao; vo-thi-sau is in quan-3).
var scopeQ1 = accounts.Scope{Groups: []string{"quan-1"}}

var fakePlaces = []accounts.Place{{ID: "ben-nghe", Groups: []string{"quan-1"}}, {ID: "da-kao", Groups: []string{"quan-1"}},
	{ID: "vo-thi-sau", Groups: []string{"quan-3"}}}

func (fakeAccounts) UserScope(ctx context.Context, user string) (accounts.Scope, error) {
	if strings.HasSuffix(user, "-q1") {
		return scopeQ1, nil
	}
	return accounts.Scope{}, nil
}

func (fakeAccounts) Places(ctx context.Context) ([]accounts.Place, error) { return fakePlaces, nil }

func (fakeAccounts) AddUser(ctx context.Context, name, role string) (string, error) {
	return "loau_new", nil
}

func (f fakeAccounts) RegisterReceiptKey(ctx context.Context, ward, publicKey string) (accounts.ReceiptKey, bool, error) {
	return accounts.ReceiptKey{PublicKey: publicKey, KeyID: "k1"}, true, f.receiptKeyErr
}

type fakeWards struct {
	err  error
	list []api.Ward
}

func (f fakeWards) Wards(ctx context.Context) ([]api.Ward, error) {
	return append([]api.Ward{}, f.list...), f.err
}

func (f fakeWards) Ward(ctx context.Context, id string) (api.Ward, error) {
	return api.Ward{ID: id}, f.err
}

func (f fakeWards) AddWard(ctx context.Context, id string, groups []string) (api.Ward, error) {
	return api.Ward{ID: id, Token: "loaw_new"}, f.err
}

type fakeJoins struct{ err error }

func (f fakeJoins) Join(ctx context.Context, code, from, host string) (api.JoinCredentials, error) {
	return api.JoinCredentials{Format: api.JoinFormat, Ward: "phuong-1"}, f.err
}

// fakeLibrary serves one media file from a temporary folder.
type fakeLibrary struct {
	dir string
	err error
}

func (f fakeLibrary) Media(ctx context.Context) ([]api.Media, error) { return []api.Media{}, nil }
func (f fakeLibrary) CheckSize(n int64) error                        { return nil }
func (f fakeLibrary) Retitle(ctx context.Context, key, title string) error {
	if f.err != nil {
		return f.err
	}
	if title == "" {
		return cmdkit.BadInput("tiêu đề: cần 1 đến 200 ký tự / title: want 1 to 200 characters")
	}
	return nil
}

// Rename refuses ban-tin.mp3 (a program file refers to it) and nhac.mp3
// (another item's name), as the library does.
func (f fakeLibrary) Rename(ctx context.Context, key, from, to string) error {
	if err := library.CheckName("name", to); err != nil {
		return err
	}
	switch {
	case from == "ban-tin.mp3":
		return &library.NameInUseError{Name: from, Files: []string{"p1.yaml (ward:phuong-1)"}}
	case to == "nhac.mp3":
		return fmt.Errorf("%w: name: %q is another item's name", library.ErrNameTaken, to)
	}
	return nil
}
func (f fakeLibrary) Delete(ctx context.Context, key string) error {
	if key == strings.Repeat("c", 64) {
		return &library.InUseError{Key: key, Uses: []string{"ward:phuong-1 tin-sang"}}
	}
	return f.err
}

func (f fakeLibrary) Ingest(ctx context.Context, body io.Reader, up library.UploadInfo) (api.Media, bool, error) {
	return api.Media{Title: up.Title}, true, f.err
}

func (f fakeLibrary) StartUpload(ctx context.Context, up library.UploadInfo, size int64) (api.Upload, error) {
	return api.Upload{ID: "up1", Name: up.Name, Size: size}, f.err
}

func (f fakeLibrary) Upload(ctx context.Context, id string, who library.Caller) (api.Upload, error) {
	return api.Upload{ID: id}, f.err
}

func (f fakeLibrary) Append(ctx context.Context, id string, who library.Caller, at int64, body io.Reader) (Progress, error) {
	n, _ := io.Copy(io.Discard, body)
	return Progress{Upload: api.Upload{ID: id, Offset: at + n, Size: 100}, Written: true}, f.err
}

func (f fakeLibrary) DeleteUpload(ctx context.Context, id string, who library.Caller) error {
	return f.err
}

func (f fakeLibrary) OpenFile(key string) (*os.File, error) {
	return os.Open(filepath.Join(f.dir, key))
}

func (f fakeLibrary) WardMayFetch(ctx context.Context, ward, key string) (bool, error) {
	return true, nil
}

type fakePrograms struct{ err error }

func (f fakePrograms) Manifest(ctx context.Context, ward string, unchanged func(etag string) bool) (programs.WardManifest, bool, error) {
	return programs.WardManifest{ETag: `"1"`, Version: 1, Envelope: []byte("{}"), Gzip: []byte("{}")}, true, f.err
}

func (f fakePrograms) Load(ctx context.Context, target, file string, body []byte, by string, checkOnly bool) (api.ProgramLoad, error) {
	return api.ProgramLoad{}, f.err
}

func (f fakePrograms) Delete(ctx context.Context, target, by string) (api.ProgramLoad, error) {
	return api.ProgramLoad{}, f.err
}

func (f fakePrograms) List(ctx context.Context) ([]api.ProgramSet, error) { return nil, f.err }

func (f fakePrograms) File(ctx context.Context, target string) (string, []byte, bool, error) {
	return "city.yaml", []byte("programs: []\n"), true, f.err
}

func (f fakePrograms) Timeline(ctx context.Context, ward string, d schedule.Date) (api.Timeline, error) {
	return api.Timeline{}, f.err
}

// fakeBoard records what the API told it.
type fakeBoard struct {
	mu    sync.Mutex
	seen  map[string]int64
	flags []string
}

func (b *fakeBoard) NoteSeen(ward string, version int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen == nil {
		b.seen = map[string]int64{}
	}
	b.seen[ward] = version
}

func (b *fakeBoard) Flag(ward, kind, detail string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flags = append(b.flags, ward+" "+kind)
}

func (b *fakeBoard) AsRunDay(ctx context.Context, ward string, d schedule.Date) (api.AsRunDay, error) {
	return api.AsRunDay{}, nil
}

type fakeAlerting struct {
	err      error
	problems []string
	// targets are every alert's; list the alert list; live the live
	// announcements.
	targets string
	list    []api.AlertListEntry
	live    []api.Live
}

func (f fakeAlerting) Send(ctx context.Context, req api.NewAlert, by string) (api.Alert, bool, error) {
	return api.Alert{ID: "a1"}, false, f.err
}

func (f fakeAlerting) Cancel(ctx context.Context, id, by string) (api.Alert, bool, error) {
	return api.Alert{ID: id}, false, f.err
}

func (f fakeAlerting) Status(ctx context.Context, id string) (api.Alert, error) {
	return api.Alert{ID: id, Targets: f.targets}, f.err
}

func (f fakeAlerting) List(ctx context.Context, limit int) ([]api.AlertListEntry, error) {
	return f.list, f.err
}

func (f fakeAlerting) StartLive(ctx context.Context, req api.NewLive, by string) (api.Live, error) {
	return api.Live{ID: "l1"}, f.err
}

func (f fakeAlerting) ListLive() []api.Live                              { return append([]api.Live{}, f.live...) }
func (f fakeAlerting) StopLive(ctx context.Context, id, by string) error { return f.err }
func (f fakeAlerting) Problems() []string                                { return f.problems }

// fakeSessions is the console: a cookie "session=ROLE" is a session of
// that role; "session=cross" a change from another site.
type fakeSessions struct{}

func (fakeSessions) APISession(r *http.Request) (string, string, error) {
	ck, err := r.Cookie("session")
	if err != nil {
		return "", "", err
	}
	if ck.Value == "cross" {
		return "", "", ErrCrossSite
	}
	return "console-" + ck.Value, strings.TrimSuffix(ck.Value, "-q1"), nil
}

// audit is a fake audit log.
type audit struct {
	mu   sync.Mutex
	rows []string
}

func (a *audit) record(ctx context.Context, actor, action, target, detail string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rows = append(a.rows, actor+"|"+action+"|"+target+"|"+detail)
}

func (a *audit) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.rows...)
}

// mediaKey is the one media file the fake library has.
const mediaKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// testDeps are fakes for every dependency, with a fresh key and an audit
// log the test can read.
func testDeps(t *testing.T) (Deps, *audit) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, mediaKey), []byte("ID3 not really"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := signing.GenerateKey(filepath.Join(dir, "city.key"))
	if err != nil {
		t.Fatal(err)
	}
	a := &audit{}
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	return Deps{
		Key: key, Now: func() time.Time { return now }, Location: time.UTC,
		Accounts: fakeAccounts{}, Wards: fakeWards{}, Joins: fakeJoins{}, Library: fakeLibrary{dir: dir},
		Programs: fakePrograms{}, Preview: fakePreview{}, Board: &fakeBoard{}, Alerting: fakeAlerting{}, Approvals: fakeApprovals{}, Sessions: fakeSessions{}, CAP: &fakeCAP{},
		Metrics: prometheus.NewRegistry(), Record: a.record, Reports: &fakeReports{}, Commands: &fakeCommands{},
		Notify: fakeNotify(),
	}, a
}

func (b *fakeBoard) Heartbeats(ward string) []api.WardBeat {
	return []api.WardBeat{{Seq: 7, State: "on air", LevelDBFS: -14}}
}
