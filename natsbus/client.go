package natsbus

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"loa/internal/atomicfile"
	"loa/internal/backoff"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// NewUserKey creates a user NKEY and returns its seed (the secret the ward
// keeps; "SU...") and public key ("U...", what the city keeps).
func NewUserKey() (seed, public string, err error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", "", err
	}
	s, err := kp.Seed()
	if err != nil {
		return "", "", err
	}
	public, err = kp.PublicKey()
	return string(s), public, err
}

// PublicKey returns the public key of a user seed.
func PublicKey(seed string) (string, error) {
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(seed)))
	if err != nil {
		return "", fmt.Errorf("NATS key: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", err
	}
	if !nkeys.IsValidPublicUserKey(pub) {
		return "", errors.New("NATS key: not a user key (want a seed starting with SU)")
	}
	return pub, nil
}

// LoadOrCreateSeed reads the user seed in path, creating it (mode 0600,
// complete or not at all) when there is none.
func LoadOrCreateSeed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		seed := strings.TrimSpace(string(b))
		if _, err := PublicKey(seed); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		return seed, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	seed, _, err := NewUserKey()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	err = atomicfile.WriteNew(path, []byte(seed+"\n"), 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateSeed(path) // another process made it just now
	}
	if err != nil {
		return "", err
	}
	return seed, nil
}

// ConnOptions configures a connection.
type ConnOptions struct {
	// URLs are the servers, comma-separated (nats://host:4222,...);
	// ignored with Server.
	URLs string
	// Server, if set, is the embedded server (natsserver.Start's),
	// reached in-process.
	Server nats.InProcessConnProvider
	// Seed is the NKEY seed the client authenticates with.
	Seed string
	// Name shows in the server's connection list.
	Name string
	// InboxPrefix replaces _INBOX (a ward's is InboxPrefix(ward)).
	InboxPrefix string
	// MaxBackoff bounds the wait between reconnection attempts (5s).
	MaxBackoff time.Duration
	Log        *slog.Logger
	// TLS, if set, is the client's TLS configuration (tls:// servers; a
	// ward's pins the city's key).
	TLS *tls.Config
}

// Link is a connection that reconnects for ever, with a growing, jittered
// wait (250 ms doubling up to MaxBackoff), and remembers its state for
// status pages.
type Link struct {
	Conn *nats.Conn
	log  *slog.Logger

	mu       sync.Mutex
	up       bool
	since    time.Time // of the current state
	lastErr  string
	attempts int
	onChange []func(up bool)
	closed   chan struct{} // closed by the connection's closed callback
}

// LinkState is a Link's state.
type LinkState struct {
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since"`
	Server    string    `json:"server,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	// Reconnects counts reconnections since start.
	Reconnects uint64 `json:"reconnects"`
}

// Dial connects. With URLs it returns at once even if no server answers
// yet (the link keeps trying in the background); in-process it fails if
// the server refuses.
func Dial(o ConnOptions) (*Link, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(o.Seed)))
	if err != nil {
		return nil, fmt.Errorf("NATS key: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, err
	}
	l := &Link{log: o.Log, since: time.Now(), closed: make(chan struct{})}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.Nkey(pub, kp.Sign),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			return backoff.Wait(attempts, 250*time.Millisecond, o.MaxBackoff)
		}),
		nats.ReconnectJitter(0, 0),
		nats.PingInterval(20 * time.Second),
		nats.MaxPingsOutstanding(3),
		nats.Timeout(10 * time.Second),
		nats.ConnectHandler(func(nc *nats.Conn) { l.set(true, "") }),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			l.log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
			l.set(true, "")
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			msg := "disconnected"
			if err != nil {
				msg = err.Error()
			}
			l.log.Warn("nats disconnected", "err", msg)
			l.set(false, msg)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			l.set(false, "closed")
			close(l.closed)
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			l.log.Warn("nats error", "subject", subj, "err", err)
			l.mu.Lock()
			l.lastErr = err.Error()
			l.mu.Unlock()
		}),
	}
	if o.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(o.InboxPrefix))
	}
	if o.TLS != nil && o.Server == nil {
		opts = append(opts, nats.Secure(o.TLS))
	}
	url := o.URLs
	if o.Server != nil {
		opts = append(opts, nats.InProcessServer(o.Server))
		url = ""
	} else {
		opts = append(opts, nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", redact(o.URLs), err)
	}
	l.Conn = nc
	if nc.IsConnected() {
		l.set(true, "")
	}
	return l, nil
}

func redact(urls string) string {
	if urls == "" {
		return "(in-process)"
	}
	return urls
}

func (l *Link) set(up bool, err string) {
	l.mu.Lock()
	if up != l.up {
		l.since = time.Now()
	}
	l.up = up
	if err != "" {
		l.lastErr = err
	}
	fns := l.onChange
	l.mu.Unlock()
	for _, f := range fns {
		f(up)
	}
}

// OnChange calls f (from the connection's goroutine) when the link goes up
// or down.
func (l *Link) OnChange(f func(up bool)) {
	l.mu.Lock()
	l.onChange = append(l.onChange, f)
	l.mu.Unlock()
}

// State returns the link's state.
func (l *Link) State() LinkState {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := LinkState{Connected: l.up, Since: l.since, LastError: l.lastErr}
	if l.Conn != nil {
		st.Reconnects = l.Conn.Stats().Reconnects
		if l.up {
			st.Server = l.Conn.ConnectedUrlRedacted()
		}
	}
	return st
}

// Close closes the connection, flushing what is buffered (2 s at most).
func (l *Link) Close() {
	if l.Conn == nil {
		return
	}
	if l.Conn.IsConnected() {
		l.Conn.FlushTimeout(2 * time.Second)
	}
	l.Conn.Close()
	// The connection's callbacks run on their own goroutine: wait for the
	// last of them, so that nothing logs after the caller has moved on.
	select {
	case <-l.closed:
	case <-time.After(2 * time.Second):
	}
}
