package city

import (
	"fmt"
	"net"
	"net/url"
	"time"
)

// NotifyConfig is notifications (city/notify): which channels the city
// sends through and how it decides. A channel left empty is off; users
// choose their addresses and rules (loa-city notify, GET/PUT
// /api/v1/me/notifications).
type NotifyConfig struct {
	// Quiet: a problem must stay clear this long before "resolved" is
	// sent; back inside it, it continues the same incident (default 5m).
	Quiet Duration `yaml:"quiet"`
	// AlertLate: an alert not finished this long after it was sent is
	// reported (default 30m).
	AlertLate Duration `yaml:"alert_late"`
	// Attempts per message, with backoff from RetryMin to RetryMax.
	Attempts int      `yaml:"attempts"`
	RetryMin Duration `yaml:"retry_min"`
	RetryMax Duration `yaml:"retry_max"`
	SMTP     struct {
		Addr     string `yaml:"addr"` // host:port ("": no e-mail)
		From     string `yaml:"from"`
		Username string `yaml:"username"`
		Password string `yaml:"password"`
		// RequireTLS refuses a relay that does not offer STARTTLS
		// (STARTTLS is always used when offered).
		RequireTLS bool `yaml:"require_tls"`
	} `yaml:"smtp"`
	Telegram struct {
		Token   string `yaml:"token"` // bot token ("": no Telegram)
		BaseURL string `yaml:"base_url"`
	} `yaml:"telegram"`
	Webhook struct {
		// Secret signs every body (X-Loa-Signature: sha256=HMAC); ""
		// leaves webhooks off (no unsigned webhooks).
		Secret string `yaml:"secret"`
		// AllowPrivate lets webhooks reach loopback and private
		// addresses (a Zalo bridge on the city's own network).
		AllowPrivate bool `yaml:"allow_private"`
	} `yaml:"webhook"`
}

func defaultNotifyConfig() NotifyConfig {
	var n NotifyConfig
	n.Quiet = Duration(5 * time.Minute)
	n.AlertLate = Duration(30 * time.Minute)
	n.Attempts = 6
	n.RetryMin = Duration(5 * time.Second)
	n.RetryMax = Duration(5 * time.Minute)
	n.Telegram.BaseURL = "https://api.telegram.org"
	n.SMTP.RequireTLS = true
	return n
}

func (n *NotifyConfig) check(where string) error {
	switch {
	case n.Quiet <= 0 || n.AlertLate <= 0 || n.RetryMin <= 0 || n.RetryMax < n.RetryMin:
		return fmt.Errorf("%s: notify: quiet, alert_late, retry_min must be positive and retry_max at least retry_min", where)
	case n.Attempts < 1:
		return fmt.Errorf("%s: notify.attempts: %d, want at least 1", where, n.Attempts)
	}
	if n.SMTP.Addr != "" {
		if _, _, err := net.SplitHostPort(n.SMTP.Addr); err != nil {
			return fmt.Errorf("%s: notify.smtp.addr: %q: want host:port", where, n.SMTP.Addr)
		}
		if n.SMTP.From == "" {
			return fmt.Errorf("%s: notify.smtp.from: empty (needed with notify.smtp.addr)", where)
		}
	}
	if n.Telegram.Token != "" {
		if u, err := url.Parse(n.Telegram.BaseURL); err != nil || u.Host == "" {
			return fmt.Errorf("%s: notify.telegram.base_url: %q: want a URL", where, n.Telegram.BaseURL)
		}
	}
	if n.Webhook.Secret != "" && len(n.Webhook.Secret) < 16 {
		return fmt.Errorf("%s: notify.webhook.secret: at least 16 characters", where)
	}
	return nil
}
