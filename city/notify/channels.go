package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/smtp"
	"strings"
	"syscall"
	"time"
)

// SMTP sends e-mail through a relay, with STARTTLS whenever the relay
// offers it (required unless RequireTLS is false and the relay does not).
type SMTP struct {
	Addr     string // host:port
	From     string
	Username string // "" no AUTH
	Password string
	// RequireTLS refuses a relay that does not offer STARTTLS.
	RequireTLS bool
	// TLS is the STARTTLS configuration (nil: ServerName from Addr).
	TLS *tls.Config
	Now func() time.Time
}

// Name implements Channel.
func (*SMTP) Name() string { return "email" }

// Send implements Channel.
func (s *SMTP) Send(ctx context.Context, to string, m Message) error {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp addr %q: %w", s.Addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp dial: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("smtp EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp STARTTLS: %w", err)
		}
	} else if s.RequireTLS {
		return fmt.Errorf("smtp: %s does not offer STARTTLS (notify.smtp.require_tls)", s.Addr)
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return fmt.Errorf("smtp AUTH: %w", err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp RCPT TO %s: %w", to, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(s.mail(to, m)); err != nil {
		return fmt.Errorf("smtp body: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end of data: %w", err)
	}
	return c.Quit()
}

func (s *SMTP) mail(to string, m Message) []byte {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	var id [12]byte
	rand.Read(id[:])
	_, domain, _ := strings.Cut(s.From, "@")
	if domain == "" {
		domain = "loa.invalid"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n",
		s.From, to, mime.QEncoding.Encode("utf-8", m.Subject), now().Format(time.RFC1123Z), hex.EncodeToString(id[:]), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n")
	fmt.Fprintf(&b, "X-Loa-Kind: %s\r\nX-Loa-Rule: %s\r\n\r\n", m.Kind, m.Rule)
	for _, line := range strings.Split(strings.TrimRight(m.Text, "\n"), "\n") {
		if strings.HasPrefix(line, ".") {
			line = "." + line
		}
		b.WriteString(line + "\r\n")
	}
	return b.Bytes()
}

// Telegram sends through a bot (the Bot API's sendMessage).
type Telegram struct {
	// BaseURL is the Bot API (default https://api.telegram.org).
	BaseURL string
	Token   string
	Client  *http.Client
}

// Name implements Channel.
func (*Telegram) Name() string { return "telegram" }

// Send implements Channel; to is the chat id.
func (t *Telegram) Send(ctx context.Context, to string, m Message) error {
	base := t.BaseURL
	if base == "" {
		base = "https://api.telegram.org"
	}
	body, _ := json.Marshal(map[string]any{"chat_id": to, "text": m.Subject + "\n\n" + m.Text, "disable_web_page_preview": true})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/bot"+t.Token+"/sendMessage", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("telegram: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client(t.Client).Do(req)
	if err != nil {
		return fmt.Errorf("telegram: %s", redact(err.Error(), t.Token))
	}
	defer resp.Body.Close()
	var r struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &r) != nil || !r.OK || resp.StatusCode/100 != 2 {
		return fmt.Errorf("telegram: HTTP %d: %s", resp.StatusCode, r.Description)
	}
	return nil
}

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "***")
}

func client(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// Webhook POSTs the message as JSON, signed: X-Loa-Signature is
// "sha256=" and the hex HMAC-SHA256 of the body under Secret.
type Webhook struct {
	Secret []byte
	// AllowPrivate lets webhooks reach loopback, private and link-local
	// addresses. Off, a user cannot point the city at its own network
	// (its NATS monitor, a router's page): the address is checked when
	// the connection is made, after any redirect and DNS answer.
	AllowPrivate bool
	Client       *http.Client
}

// ErrPrivateAddress: a webhook's address is on the city's own network.
var ErrPrivateAddress = errors.New("địa chỉ nội bộ bị từ chối (notify.webhook.allow_private) / private address refused")

func (w *Webhook) client() *http.Client {
	if w.Client != nil || w.AllowPrivate {
		return client(w.Client)
	}
	d := &net.Dialer{Timeout: 30 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		ip = ip.Unmap()
		if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() ||
			netip.MustParsePrefix("100.64.0.0/10").Contains(ip) {
			return fmt.Errorf("%s: %w", address, ErrPrivateAddress)
		}
		return nil
	}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = d.DialContext
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}
}

// Name implements Channel.
func (*Webhook) Name() string { return "webhook" }

// SignatureHeader carries the webhook body's HMAC.
const SignatureHeader = "X-Loa-Signature"

// Sign is the signature header's value for body under secret.
func Sign(secret, body []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write(body)
	return "sha256=" + hex.EncodeToString(h.Sum(nil))
}

// Verify reports whether sig is body's signature under secret.
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}

// Send implements Channel; to is the URL.
func (w *Webhook) Send(ctx context.Context, to string, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "loa-city")
	req.Header.Set(SignatureHeader, Sign(w.Secret, body))
	resp, err := w.client().Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: HTTP %d", to, resp.StatusCode)
	}
	return nil
}
