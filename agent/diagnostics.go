package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"loa/command"
)

// The city's diagnostics command (docs/commands.md): the ward answers with
// a bounded bundle — its status, its last log lines, its configuration
// without secrets or keys, its disk and versions — in the command's signed
// ack, at most command.MaxDiagnostics bytes of JSON.

// Diagnostics is the bundle.
type Diagnostics struct {
	Ward      string    `json:"ward"`
	At        time.Time `json:"at"`
	Version   string    `json:"version"`
	GoVersion string    `json:"go_version"`
	OS        string    `json:"os"`
	Arch      string    `json:"arch"`
	// Status is what GET /api/v1/status says (nil when it did not fit).
	Status *StatusReport `json:"status,omitempty"`
	// Config is the configuration in force, every secret and key replaced
	// by "[redacted]", URLs without their user and password.
	Config map[string]any `json:"config"`
	// Doctor is what `loa-agent doctor` checks, run inside the daemon
	// (its device is the running daemon's; no tone is played).
	Doctor []doctorCheck `json:"doctor"`
	// Log is the daemon's last log lines, oldest first.
	Log []string `json:"log"`
	// Truncated says what was left out to fit the size limit.
	Truncated string `json:"truncated,omitempty"`
}

// redacted stands for a secret left out.
const redacted = "[redacted]"

// secretKey reports whether a configuration key names a secret or a key.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"token", "key", "password", "passwd", "secret", "seed"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// redactConfig is cfg as a YAML tree, secrets and keys replaced.
func redactConfig(cfg Config) map[string]any {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return map[string]any{"error": err.Error()}
	}
	redactTree(m)
	return m
}

func redactTree(m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any:
			redactTree(x)
		case string:
			if secretKey(k) {
				if x != "" {
					m[k] = redacted
				}
				continue
			}
			if u, err := url.Parse(x); err == nil && u.User != nil {
				u.User = url.User(redacted)
				m[k] = u.String()
			}
		case []any:
			if secretKey(k) {
				m[k] = redacted
			}
		default:
			if secretKey(k) && v != nil {
				m[k] = redacted
			}
		}
	}
}

// collectDiagnostics makes the bundle, with at most lines log lines, cut
// to fit command.MaxDiagnostics: the oldest log lines go first, then the
// status.
func (d *Daemon) collectDiagnostics(ctx context.Context, lines int) ([]byte, error) {
	st := d.Report(ctx)
	b := Diagnostics{Ward: d.Cfg.Ward, At: d.wall(), Version: Version, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		Status: &st, Config: redactConfig(d.Cfg), Log: []string{}}
	b.Doctor = doctorChecks(ctx, d.Cfg, d.wall(), &st, nil, func() (*Station, func(), error) { return d.st, func() {}, nil })
	if d.logs != nil {
		b.Log = d.logs.last(lines)
	}
	return fitDiagnostics(b, command.MaxDiagnostics)
}

// fitDiagnostics marshals b in at most limit bytes, leaving out the
// oldest log lines, then the status, as needed.
func fitDiagnostics(b Diagnostics, limit int) ([]byte, error) {
	total := len(b.Log)
	for {
		out, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		if len(out) <= limit {
			return out, nil
		}
		switch {
		case len(b.Log) > 0:
			// Drop an eighth of the lines (at least one) at a time.
			b.Log = b.Log[max(1, len(b.Log)/8):]
			b.Truncated = fmt.Sprintf("log: %d of the last %d lines (size limit %d bytes)", len(b.Log), total, limit)
		case b.Status != nil:
			b.Status = nil
			b.Truncated += "; status left out (size limit)"
		default:
			return nil, fmt.Errorf("diagnostics: %d bytes without log or status, limit %d", len(out), limit)
		}
	}
}

// logRing keeps the daemon's last log lines in memory for diagnostics
// (the journal may not be readable by the loa user).
type logRing struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

func newLogRing(n int) *logRing { return &logRing{lines: make([]string, n)} }

func (r *logRing) add(line string) {
	const maxLine = 2048
	if len(line) > maxLine {
		line = strings.ToValidUTF8(line[:maxLine], "") + "…"
	}
	r.mu.Lock()
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
	r.mu.Unlock()
}

// last returns at most n of the newest lines, oldest first.
func (r *logRing) last(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []string
	if r.full {
		all = append(all, r.lines[r.next:]...)
	}
	all = append(all, r.lines[:r.next]...)
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return all
}

// ringHandler passes every record to the daemon's handler and keeps a
// text copy of it in the ring.
type ringHandler struct {
	inner  slog.Handler
	ring   *logRing
	prefix string // attributes of With, as text
	group  string
}

func (h *ringHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *ringHandler) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Time.UTC().Format("2006-01-02T15:04:05.000Z"))
	b.WriteString(" " + r.Level.String() + " " + r.Message)
	b.WriteString(h.prefix)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, h.group, a)
		return true
	})
	h.ring.add(b.String())
	return h.inner.Handle(ctx, r)
}

func writeAttr(b *strings.Builder, group string, a slog.Attr) {
	if a.Equal(slog.Attr{}) {
		return
	}
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			writeAttr(b, group+a.Key+".", g)
		}
		return
	}
	fmt.Fprintf(b, " %s%s=%q", group, a.Key, v.String())
}

func (h *ringHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range as {
		writeAttr(&b, h.group, a)
	}
	return &ringHandler{inner: h.inner.WithAttrs(as), ring: h.ring, prefix: b.String(), group: h.group}
}

func (h *ringHandler) WithGroup(name string) slog.Handler {
	return &ringHandler{inner: h.inner.WithGroup(name), ring: h.ring, prefix: h.prefix, group: h.group + name + "."}
}
