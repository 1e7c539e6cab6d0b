package agent

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"loa/city/citytest"
	"loa/signing"
)

// joinFixture is a real city on loopback with a ward and a fresh code, and
// a station configuration to join with.
type joinFixture struct {
	city   *citytest.City
	code   string
	config string
	out    bytes.Buffer
	calls  []string
}

func newJoinFixture(t *testing.T, ward string, configText string) *joinFixture {
	t.Helper()
	f := &joinFixture{city: citytest.New(t)}
	f.city.AddWard(t, ward, "quan-1")
	var err error
	if f.code, _, err = f.city.IssueJoinCode(context.Background(), ward, time.Hour); err != nil {
		t.Fatal(err)
	}
	f.config = filepath.Join(t.TempDir(), "agent.conf")
	if configText != "" {
		if err := os.WriteFile(f.config, []byte(configText), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// joiner makes a join run against the fixture. systemd cannot run in a
// test: systemctl calls are recorded instead of run.
func (f *joinFixture) joiner(stdin string) *joiner {
	return &joiner{cityURL: f.city.URL, code: f.code, config: f.config, stdin: strings.NewReader(stdin), stdout: &f.out, stderr: &f.out,
		http: &http.Client{Timeout: 10 * time.Second}, systemdBooted: func() bool { return false },
		systemctl: func(_ context.Context, args ...string) error {
			f.calls = append(f.calls, strings.Join(args, " "))
			return nil
		},
		loaGroup: "no-such-group-loa-test", serviceConfig: DefaultConfigPath}
}

// codeUnused checks that the fixture's code still works (a refused join
// must not spend it).
func (f *joinFixture) codeUnused(t *testing.T) {
	t.Helper()
	if _, err := f.city.RedeemJoinCode(context.Background(), f.code, "test"); err != nil {
		t.Errorf("the code was spent by a join that failed: %v", err)
	}
}

func packagedExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../systemd/loa-agent.conf")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJoinOverHTTPAsksForTheFingerprint(t *testing.T) {
	example := packagedExample(t)
	f := newJoinFixture(t, "phuong-3", example)
	j := f.joiner("có\n")
	if err := j.run(context.Background()); err != nil {
		t.Fatalf("join: %v\n%s", err, f.out.String())
	}
	out := f.out.String()
	keyID := f.city.KeyID()
	if !strings.Contains(out, "not encrypted") || !strings.Contains(out, keyID) || !strings.Contains(out, "joined: ward phuong-3 (groups: quan-1)") {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(out, "systemd is not running here") || len(f.calls) > 0 {
		t.Errorf("without systemd: %q, systemctl %v", out, f.calls)
	}
	cfg, err := LoadConfig(f.config, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Ward != "phuong-3" || cfg.City.URL != f.city.URL || cfg.City.PublicKey != signing.PublicKeyText(f.city.PublicKey()) {
		t.Errorf("config %+v", cfg)
	}
	// Everything else is still the default, and the comments are kept.
	want := DefaultConfig()
	want.Ward, want.City.URL, want.City.Token, want.City.PublicKey, want.path = cfg.Ward, cfg.City.URL, cfg.City.Token, cfg.City.PublicKey, cfg.path
	if cfg != want {
		t.Errorf("other keys changed:\n got %+v\nwant %+v", cfg, want)
	}
	b, _ := os.ReadFile(f.config)
	for _, line := range []string{"#  buffer: 150ms", "# Every key is listed with its default value.", "#  on: \"\""} {
		if !strings.Contains(string(b), line) {
			t.Errorf("the comment %q was lost:\n%s", line, b)
		}
	}
	if st, _ := os.Stat(f.config); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's own 0640", st.Mode().Perm())
	}
	// The token is the ward's.
	if status, body, _ := f.city.Do(t, "GET", "/api/v1/manifest", cfg.City.Token, nil); status != 200 {
		t.Errorf("manifest with the written token: %d %s", status, body)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(f.config), ".*join*"))
	tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(f.config), ".*.tmp")) // atomicfile's
	if left = append(left, tmps...); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// The same code again: refused by the city, bad input, config untouched.
	f.out.Reset()
	err = f.joiner("yes\n").run(context.Background())
	if err == nil || ExitCode(err) != ExitInput || !strings.Contains(err.Error(), "already used") || !strings.Contains(err.Error(), "HTTP 410") {
		t.Errorf("second join: %v (exit %d)", err, ExitCode(err))
	}
	if b2, _ := os.ReadFile(f.config); !bytes.Equal(b, b2) {
		t.Error("a refused join changed the configuration")
	}
}

func TestJoinRefusals(t *testing.T) {
	t.Run("not confirmed", func(t *testing.T) {
		f := newJoinFixture(t, "xa-1", "ward: \"\"\n")
		for _, answer := range []string{"no\n", ""} {
			err := f.joiner(answer).run(context.Background())
			if err == nil || !strings.Contains(err.Error(), "nothing was changed") {
				t.Errorf("answer %q: %v", answer, err)
			}
		}
		if b, _ := os.ReadFile(f.config); string(b) != "ward: \"\"\n" {
			t.Errorf("config changed: %q", b)
		}
		f.codeUnused(t)
	})
	t.Run("wrong fingerprint", func(t *testing.T) {
		f := newJoinFixture(t, "xa-1", "")
		j := f.joiner("")
		j.fingerprint = "00112233:44556677"
		err := j.run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "not 0011223344556677") || !strings.Contains(err.Error(), f.city.KeyID()) {
			t.Errorf("wrong fingerprint: %v", err)
		}
		if _, err := os.Stat(f.config); !errors.Is(err, os.ErrNotExist) {
			t.Error("a refused join wrote a configuration")
		}
		f.codeUnused(t)
	})
	t.Run("broken configuration", func(t *testing.T) {
		f := newJoinFixture(t, "xa-1", "audio:\n  bufer: 100ms\n")
		err := f.joiner("yes\n").run(context.Background())
		if err == nil || ExitCode(err) != ExitInput || !strings.Contains(err.Error(), "bufer") || !strings.Contains(err.Error(), "the code was not used") {
			t.Errorf("broken config: %v", err)
		}
		f.codeUnused(t)
	})
	t.Run("configuration folder missing", func(t *testing.T) {
		f := newJoinFixture(t, "xa-1", "")
		j := f.joiner("yes\n")
		j.config = filepath.Join(t.TempDir(), "no", "such", "agent.conf")
		if err := j.run(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot write the configuration") {
			t.Errorf("missing folder: %v", err)
		}
		f.codeUnused(t)
	})
	t.Run("unknown code", func(t *testing.T) {
		f := newJoinFixture(t, "xa-1", "")
		j := f.joiner("yes\n")
		j.code = "ZZZZZ-ZZZZZ"
		if err := j.run(context.Background()); ExitCode(err) != ExitInput || !strings.Contains(err.Error(), "HTTP 404") {
			t.Errorf("unknown code: %v", err)
		}
	})
	t.Run("not a city", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		f := newJoinFixture(t, "xa-1", "")
		j := f.joiner("yes\n")
		j.cityURL = srv.URL
		if err := j.run(context.Background()); err == nil || !strings.Contains(err.Error(), "is this a loa city?") {
			t.Errorf("not a city: %v", err)
		}
	})
}

func TestJoinCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"join", "--code", "7KQMX-2HD9P"}, "--city URL is required"},
		{[]string{"join", "--city", "https://x"}, "--code CODE is required"},
		{[]string{"join", "--city", "ftp://x", "--code", "7KQMX-2HD9P"}, "want an address like"},
		{[]string{"join", "--city", "https://x", "--code", "7KQMX"}, "10 letters and digits"},
		{[]string{"join", "--city", "https://x", "--code", "7KQMX-2HD9Đ"}, "not a letter or digit"},
	} {
		var out, errb bytes.Buffer
		c := &CLI{Stdout: &out, Stderr: &errb}
		if code := c.Main(context.Background(), tc.args); code != ExitInput || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
	var out, errb bytes.Buffer
	c := &CLI{Stdout: &out, Stderr: &errb}
	// The flag placeholders name what to type, not a piece of the text.
	if code := c.Main(context.Background(), []string{"join", "--help"}); code != 0 || !strings.Contains(out.String(), "-fingerprint FP") ||
		!strings.Contains(out.String(), "-code CODE\n") || strings.Contains(out.String(), "ward add\n") {
		t.Errorf("join --help: %d %q", code, out.String())
	}
}

func TestJoinWithFingerprintKeepsOtherSettings(t *testing.T) {
	f := newJoinFixture(t, "xa-2", "# my station\naudio:\n  output: null\n  buffer: 200ms\ncity:\n  poll: 30s\n")
	j := f.joiner("")
	j.fingerprint = strings.ToUpper(f.city.KeyID()[:2] + ":" + f.city.KeyID()[2:])
	if err := j.run(context.Background()); err != nil {
		t.Fatalf("join: %v\n%s", err, f.out.String())
	}
	cfg, err := LoadConfig(f.config, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Ward != "xa-2" || cfg.Audio.Output != "null" || cfg.Audio.Buffer.D() != 200*time.Millisecond || cfg.City.Poll.D() != 30*time.Second || cfg.City.Token == "" {
		t.Errorf("config %+v", cfg)
	}
	if b, _ := os.ReadFile(f.config); !strings.HasPrefix(string(b), "# my station\n") {
		t.Errorf("comment lost:\n%s", b)
	}
}

func TestJoinNewConfigFile(t *testing.T) {
	f := newJoinFixture(t, "xa-3", "")
	if err := f.joiner("y\n").run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(f.config)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("new config without a loa group: mode %v, want 0600", st.Mode().Perm())
	}
	if cfg, err := LoadConfig(f.config, true); err != nil || cfg.Ward != "xa-3" {
		t.Errorf("config %+v %v", cfg, err)
	}

	// As root, with the packaged daemon's group: 0640 root:GROUP, so the
	// daemon (user loa) reads it and nobody else.
	if os.Geteuid() != 0 {
		t.Skip("the owner of a new file is set only as root")
	}
	g, err := user.LookupGroup("audio")
	if err != nil {
		t.Skip("no audio group to stand in for loa")
	}
	f2 := newJoinFixture(t, "xa-4", "")
	j := f2.joiner("y\n")
	j.loaGroup = "audio"
	if err := j.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, _ = os.Stat(f2.config)
	gid, _ := strconv.Atoi(g.Gid)
	if sys := st.Sys().(*syscall.Stat_t); st.Mode().Perm() != 0o640 || sys.Uid != 0 || int(sys.Gid) != gid {
		t.Errorf("mode %v owner %d:%d, want 0640 0:%d", st.Mode().Perm(), sys.Uid, sys.Gid, gid)
	}
}

func TestJoinOnlyCommentsConfig(t *testing.T) {
	f := newJoinFixture(t, "xa-5", "# all commented\n#audio:\n#  buffer: 150ms\n")
	if err := f.joiner("yes\n").run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f.config)
	if !strings.Contains(string(b), "#  buffer: 150ms") || !strings.Contains(string(b), "ward: xa-5") {
		t.Errorf("config:\n%s", b)
	}
}

func TestJoinOverHTTPSStartsTheService(t *testing.T) {
	f := newJoinFixture(t, "xa-6", "")
	srv := httptest.NewTLSServer(f.city.Handler())
	defer srv.Close()
	j := f.joiner("") // no answer: HTTPS needs none
	j.cityURL = srv.URL + "/"
	j.http = srv.Client()
	j.systemdBooted = func() bool { return true }
	j.serviceConfig = f.config
	if os.Geteuid() != 0 {
		t.Skip("enabling the service is attempted only as root")
	}
	if err := j.run(context.Background()); err != nil {
		t.Fatalf("join: %v\n%s", err, f.out.String())
	}
	if got := strings.Join(f.calls, "; "); got != "enable loa-agent.service; restart loa-agent.service" {
		t.Errorf("systemctl calls: %q", got)
	}
	if out := f.out.String(); !strings.Contains(out, "over HTTPS") || strings.Contains(out, "Is it the same?") {
		t.Errorf("output:\n%s", out)
	}
	if cfg, _ := LoadConfig(f.config, true); cfg.City.URL != srv.URL {
		t.Errorf("city url %q, want %q (no trailing slash)", cfg.City.URL, srv.URL)
	}

	// A failing systemctl is reported, with what to look at.
	f2 := newJoinFixture(t, "xa-7", "")
	j2 := f2.joiner("yes\n")
	j2.systemdBooted = func() bool { return true }
	j2.serviceConfig = f2.config
	j2.systemctl = func(context.Context, ...string) error { return errors.New("exit status 1") }
	if err := j2.run(context.Background()); err == nil || !strings.Contains(err.Error(), "joined, but `systemctl enable loa-agent.service` failed") {
		t.Errorf("systemctl failure: %v", err)
	}
}
