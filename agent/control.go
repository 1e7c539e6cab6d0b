package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"loa/internal/atomicfile"
)

// ControlConfig is where the station takes state-changing requests (the
// ward's own live voice: `loa-agent live`). They never go through
// http.listen: that address is read-only (status page, /healthz,
// /metrics), because technicians open it on the ward's network, where any
// web page a phone visits could otherwise post to it.
type ControlConfig struct {
	// Listen is unix:PATH (default unix:DATA/control.sock) or a loopback
	// HOST:PORT (127.0.0.1:8791). Nothing else is accepted: no browser
	// reaches a unix socket, and a loopback port is the host's own.
	Listen string `yaml:"listen"`
	// TokenFile holds the bearer token every control request must carry
	// (default DATA/control.token). The daemon creates it at first start,
	// mode 0640, readable by root and the agent's group (loa) only; there
	// is no default token.
	TokenFile string `yaml:"token_file"`
}

// controlListen is control.listen with its default filled in.
func (c Config) controlListen() string {
	if c.Control.Listen != "" {
		return c.Control.Listen
	}
	return "unix:" + filepath.Join(c.Data, "control.sock")
}

// controlTokenFile is control.token_file with its default filled in.
func (c Config) controlTokenFile() string {
	if c.Control.TokenFile != "" {
		return c.Control.TokenFile
	}
	return filepath.Join(c.Data, "control.token")
}

// validateControlListen accepts unix:PATH or a loopback HOST:PORT.
func validateControlListen(s string) error {
	if s == "" {
		return nil
	}
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if path == "" {
			return fmt.Errorf("control.listen: %q: unix: needs a path", s)
		}
		return nil
	}
	host, _, err := net.SplitHostPort(s)
	if err == nil {
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("control.listen: %q: phải là unix:PATH hoặc địa chỉ loopback / must be unix:PATH or a loopback address such as 127.0.0.1:8791", s)
}

// controlTokenPrefix marks the station's control tokens (easy to grep for
// in a leaked paste, like the city's loaw_ ward tokens).
const controlTokenPrefix = "loac_"

// minControlToken is the shortest token accepted from a token file.
const minControlToken = 32

// loadOrCreateControlToken reads the control token file, creating it with a
// fresh random token (mode 0640, written atomically) when it is missing.
// A file others can read, or a token too short to resist guessing, is an
// error: the caller then takes no control requests at all.
func loadOrCreateControlToken(path string) (string, error) {
	tok, err := readControlToken(path)
	if !errors.Is(err, fs.ErrNotExist) {
		if err != nil {
			return "", err
		}
		fi, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("control token %s: %w", path, err)
		}
		if fi.Mode().Perm()&0o007 != 0 {
			return "", fmt.Errorf("control token %s: mọi người đều đọc được / readable by everyone (mode %04o): chmod 640 %s", path, fi.Mode().Perm(), path)
		}
		return tok, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("control token: %w", err)
	}
	tok = controlTokenPrefix + hex.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("control token %s: %w", path, err)
	}
	// WriteNew links, not renames: two processes racing at first start
	// must not replace each other's token; the loser reads the winner's.
	if err := atomicfile.WriteNew(path, []byte(tok+"\n"), 0o640); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readControlToken(path)
		}
		return "", fmt.Errorf("control token: %w", err)
	}
	return tok, nil
}

// readControlToken reads a token file (the token is its first line).
func readControlToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if errors.Is(err, fs.ErrPermission) {
			return "", fmt.Errorf("không đọc được khoá điều khiển / cannot read the control token %s: permission denied (chạy bằng root hoặc người dùng thuộc nhóm loa / run as root or as a member of group loa)", path)
		}
		return "", fmt.Errorf("control token %s: %w", path, err)
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	tok = strings.TrimSpace(tok)
	if len(tok) < minControlToken {
		return "", fmt.Errorf("control token %s: khoá quá ngắn / too short (%d characters, at least %d): delete the file and restart loa-agent to get a new one", path, len(tok), minControlToken)
	}
	return tok, nil
}

// Reasons a control request is refused (label of loa_control_refused_total).
const (
	refusedReadOnly    = "read_only"    // a state change sent to the read-only http.listen
	refusedCrossSite   = "cross_site"   // Origin or Sec-Fetch-Site: a browser page sent it
	refusedNoToken     = "no_token"     // no Authorization: Bearer
	refusedBadToken    = "bad_token"    // a token that is not the station's
	refusedContentType = "content_type" // a body that is not application/json
	refusedNoControl   = "disabled"     // the token file could not be read or made
)

var refusedReasons = []string{refusedReadOnly, refusedCrossSite, refusedNoToken, refusedBadToken, refusedContentType, refusedNoControl}

// controlRoutes are the state-changing endpoints, served only on the
// control listener and only to a request that passes guard.
func (d *Daemon) controlRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/live", d.guard(func(w http.ResponseWriter, r *http.Request) { d.handleLiveStart(d.liveCtx)(w, r) }))
	mux.HandleFunc("DELETE /api/v1/live", d.guard(d.handleLiveStop))
	return mux
}

// readOnlyRefusal answers a state change sent to http.listen: refused,
// counted and logged, so that an attempt from the ward's network shows.
func (d *Daemon) readOnlyRefusal(w http.ResponseWriter, r *http.Request) {
	d.refuse(w, r, refusedReadOnly, http.StatusForbidden,
		"Địa chỉ này chỉ để xem; điều khiển bằng lệnh loa-agent live trên máy trạm / this address is read-only: control the station with `loa-agent live` on the station itself")
}

// guard lets through only a request from a local client holding the
// station's token: no browser context (Origin, Sec-Fetch-Site), a bearer
// token equal to the token file's (compared in constant time), and a JSON
// body when there is a body. A cross-site HTML form can send none of
// these.
func (d *Daemon) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" || crossSiteFetch(r.Header.Get("Sec-Fetch-Site")) {
			d.refuse(w, r, refusedCrossSite, http.StatusForbidden,
				"Từ chối yêu cầu gửi từ trang web / request from a web page refused (Origin, Sec-Fetch-Site)")
			return
		}
		if d.controlToken == "" {
			d.refuse(w, r, refusedNoControl, http.StatusServiceUnavailable,
				"Điều khiển cục bộ đang tắt: không có khoá điều khiển / local control is off: no control token (see the agent's log)")
			return
		}
		given, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="loa-agent"`)
			d.refuse(w, r, refusedNoToken, http.StatusUnauthorized,
				"Cần khoá điều khiển / control token required: Authorization: Bearer <"+d.Cfg.controlTokenFile()+">")
			return
		}
		if !tokenEqual(given, d.controlToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="loa-agent", error="invalid_token"`)
			d.refuse(w, r, refusedBadToken, http.StatusUnauthorized, "Khoá điều khiển sai / wrong control token")
			return
		}
		if r.Method == http.MethodPost || r.ContentLength > 0 {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				d.refuse(w, r, refusedContentType, http.StatusUnsupportedMediaType,
					"Nội dung phải là JSON / Content-Type must be application/json")
				return
			}
		}
		next(w, r)
	}
}

// crossSiteFetch: a browser's fetch metadata says another page sent it.
// Only "none" (typed by the user) is not a page's doing; a local client
// sends no such header.
func crossSiteFetch(v string) bool { return v != "" && v != "none" }

func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// tokenEqual compares in constant time, over hashes so that the length of
// the token does not show either.
func tokenEqual(given, want string) bool {
	a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// refuse answers, counts and logs a refused control request. The log keeps
// to one line per reason every refusalLogEvery (with the number refused
// in between), so that a flood of attempts does not wear the SD card out
// through the journal; the counter counts every one.
func (d *Daemon) refuse(w http.ResponseWriter, r *http.Request, reason string, status int, msg string) {
	d.m.controlRefused.WithLabelValues(reason).Inc()
	if n, ok := d.refusals.allow(reason, time.Now()); ok {
		d.Log.Warn("control request refused", "reason", reason, "method", r.Method, "path", r.URL.Path,
			"remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"),
			"content_type", r.Header.Get("Content-Type"), "status", status, "not_logged_before", n)
	}
	http.Error(w, msg, status)
}

// refusalLogEvery is the most often a refusal reason is logged.
const refusalLogEvery = 10 * time.Second

// refusalLog limits the log lines of refused requests, per reason.
type refusalLog struct {
	mu      sync.Mutex
	last    map[string]time.Time
	skipped map[string]int
}

// allow reports whether a refusal for reason is logged at now, and how
// many were not logged since the last line.
func (l *refusalLog) allow(reason string, now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.skipped = map[string]time.Time{}, map[string]int{}
	}
	if t, ok := l.last[reason]; ok && now.Sub(t) < refusalLogEvery {
		l.skipped[reason]++
		return 0, false
	}
	n := l.skipped[reason]
	l.last[reason], l.skipped[reason] = now, 0
	return n, true
}

// listenControl opens the control listener. A unix socket left by a
// previous run is replaced; the socket is made 0660 so that root and the
// agent's group can connect (the token is still needed).
func (d *Daemon) listenControl() (*http.Server, net.Listener, error) {
	addr := d.Cfg.controlListen()
	var ln net.Listener
	var err error
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if fi, serr := os.Lstat(path); serr == nil && fi.Mode()&fs.ModeSocket != 0 {
			os.Remove(path)
		}
		ln, err = net.Listen("unix", path)
		if err == nil {
			err = os.Chmod(path, 0o660)
			if err != nil {
				ln.Close()
			}
		}
	} else {
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("control.listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: d.controlRoutes(), ReadHeaderTimeout: 5 * time.Second}
	return srv, ln, nil
}

// controlClient is the local side of the control listener:
// `loa-agent live` with the token from the token file.
type controlClient struct {
	addr  string // as configured: unix:PATH or HOST:PORT
	token string
	http  *http.Client
}

func newControlClient(cfg Config) (*controlClient, error) {
	tok, err := readControlToken(cfg.controlTokenFile())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no control token at %s (the daemon creates it when it starts)", errNoDaemon, cfg.controlTokenFile())
	}
	if err != nil {
		return nil, err
	}
	addr := cfg.controlListen()
	tr := &http.Transport{}
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", path)
		}
	}
	return &controlClient{addr: addr, token: tok, http: &http.Client{Timeout: 10 * time.Second, Transport: tr}}, nil
}

// do sends a control request; body, when not nil, is JSON.
func (c *controlClient) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	host := c.addr
	if strings.HasPrefix(host, "unix:") {
		host = "loa-agent"
	}
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+host+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %v", errNoDaemon, c.addr, err)
	}
	return resp, nil
}
