package notify

import (
	"context"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"loa/internal/cmdkit"
)

// SettingsStore keeps each user's subscription (the city's SQLite).
type SettingsStore interface {
	// Subscription is user's (found false: none yet).
	Subscription(ctx context.Context, user string) (s Subscription, found bool, err error)
	// PutSubscription replaces the user's subscription.
	PutSubscription(ctx context.Context, s Subscription) error
}

// Settings are the users' subscriptions as they read and change them
// (loa-city notify, GET/PUT /api/v1/me/notifications).
type Settings struct {
	Store SettingsStore
	// Has reports whether a channel (email, telegram, webhook) is
	// configured on the server: an address for one that is not is refused.
	Has func(channel string) bool
}

// Channels are the channel names.
var Channels = []string{"email", "telegram", "webhook"}

// Available lists the channels configured on the server.
func (st *Settings) Available() []string {
	var out []string
	for _, c := range Channels {
		if st.Has != nil && st.Has(c) {
			out = append(out, c)
		}
	}
	return out
}

// Get is user's subscription (none: empty, no rules).
func (st *Settings) Get(ctx context.Context, user string) (Subscription, error) {
	s, _, err := st.Store.Subscription(ctx, user)
	s.User = user
	if s.Rules == nil {
		s.Rules = []string{}
	}
	return s, err
}

var telegramChat = regexp.MustCompile(`^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$`)

// Check cleans s and says what is wrong with it, naming the field, in
// Vietnamese and English.
func (st *Settings) Check(s *Subscription) error {
	s.Email = strings.TrimSpace(s.Email)
	s.Telegram = strings.TrimSpace(s.Telegram)
	s.Webhook = strings.TrimSpace(s.Webhook)
	if s.Email != "" {
		a, err := mail.ParseAddress(s.Email)
		if err != nil || a.Address != s.Email || len(s.Email) > 254 {
			return cmdkit.BadInput("email %q: không phải địa chỉ e-mail / not an e-mail address", s.Email)
		}
	}
	if s.Telegram != "" && !telegramChat.MatchString(s.Telegram) {
		return cmdkit.BadInput("telegram %q: mã cuộc trò chuyện là số (như -1001234567) hoặc @tên_kênh / a chat id is a number (like -1001234567) or @channel", s.Telegram)
	}
	if s.Webhook != "" {
		u, err := url.Parse(s.Webhook)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s.Webhook) > 2048 || u.User != nil {
			return cmdkit.BadInput("webhook %q: cần địa chỉ http:// hoặc https:// / want an http:// or https:// URL", s.Webhook)
		}
	}
	for name, v := range map[string]string{"email": s.Email, "telegram": s.Telegram, "webhook": s.Webhook} {
		if v != "" && (st.Has == nil || !st.Has(name)) {
			return cmdkit.BadInput("%s: kênh này chưa được cấu hình trên máy chủ (notify.%s) / this channel is not configured on the server", name, configKey(name))
		}
	}
	var rules []string
	for _, r := range s.Rules {
		r = strings.TrimSpace(r)
		if !slices.Contains(Rules, r) {
			return cmdkit.BadInput("rules: %q không phải quy tắc; có: %s / not a rule; rules are: %s", r, strings.Join(Rules, ", "), strings.Join(Rules, ", "))
		}
		if !slices.Contains(rules, r) {
			rules = append(rules, r)
		}
	}
	slices.SortFunc(rules, func(a, b string) int { return slices.Index(Rules, a) - slices.Index(Rules, b) })
	if rules == nil {
		rules = []string{}
	}
	s.Rules = rules
	return nil
}

func configKey(channel string) string {
	if channel == "email" {
		return "smtp"
	}
	return channel
}

// Put checks and stores user's subscription and returns it as stored.
func (st *Settings) Put(ctx context.Context, user string, s Subscription) (Subscription, error) {
	s.User = user
	if err := st.Check(&s); err != nil {
		return s, err
	}
	return s, st.Store.PutSubscription(ctx, s)
}
