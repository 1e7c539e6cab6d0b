package city

import (
	"context"
	"errors"
	"sync"
	"time"

	"loa/city/notify"
	"loa/fleet"
	"loa/sqlite"
)

// Notifications (city/notify): the city's adapters of the board, the
// registry, the alerts and the database to the notifier, and its start.

// notifier is the notifier with its outbox and the users' settings.
type notifier struct {
	svc      *notify.Service
	out      *notify.Outbox
	settings *notify.Settings
}

func (c *City) newNotify() *notifier {
	cfg := c.Config.Notify
	var chans []notify.Channel
	if cfg.SMTP.Addr != "" {
		chans = append(chans, &notify.SMTP{Addr: cfg.SMTP.Addr, From: cfg.SMTP.From, Username: cfg.SMTP.Username,
			Password: cfg.SMTP.Password, RequireTLS: cfg.SMTP.RequireTLS, Now: func() time.Time { return c.Now() }})
	}
	if cfg.Telegram.Token != "" {
		chans = append(chans, &notify.Telegram{BaseURL: cfg.Telegram.BaseURL, Token: cfg.Telegram.Token})
	}
	if cfg.Webhook.Secret != "" {
		chans = append(chans, &notify.Webhook{Secret: []byte(cfg.Webhook.Secret), AllowPrivate: cfg.Webhook.AllowPrivate})
	}
	out := notify.NewOutbox(notify.OutboxConfig{Attempts: cfg.Attempts, RetryMin: time.Duration(cfg.RetryMin),
		RetryMax: time.Duration(cfg.RetryMax)}, c.Log, chans...)
	src := &notifySource{c: c}
	svc := notify.New(src, notifySubs{c}, out, notify.Config{Quiet: time.Duration(cfg.Quiet), AlertLate: time.Duration(cfg.AlertLate)},
		func() time.Time { return c.Now() }, c.Log)
	return &notifier{svc: svc, out: out, settings: &notify.Settings{Store: notifySettingsStore{c}, Has: out.Has}}
}

// NotifySettings are the users' notification settings.
func (c *City) NotifySettings() *notify.Settings { return c.notify.settings }

// startNotify runs the notifier and its outbox until stop (nothing runs
// when no channel is configured).
func (c *City) startNotify(ctx context.Context) (stop func()) {
	if len(c.notify.settings.Available()) == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.notify.out.Run(ctx) })
	wg.Go(func() { c.notify.svc.Run(ctx) })
	c.Log.Info("notifications on", "channels", c.notify.settings.Available())
	return func() { cancel(); wg.Wait() }
}

// notifySource is the board, the registry and the alerts as the notifier
// reads them.
type notifySource struct {
	c *City

	mu        sync.Mutex
	regAt     time.Time
	reg       map[string]sqlite.Ward
	alertsAt  time.Time
	openAlert []notify.OpenAlert
}

const (
	notifyRegistryEvery = 30 * time.Second
	notifyAlertsEvery   = 15 * time.Second
)

func (s *notifySource) Watch() (<-chan struct{}, func()) { return s.c.board.Watch() }

func (s *notifySource) registry() map[string]sqlite.Ward {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := time.Now(); s.reg == nil || now.Sub(s.regAt) >= notifyRegistryEvery {
		ws, err := s.c.DB.Read().Wards(context.Background())
		if err != nil {
			s.c.Log.Warn("notify: ward registry not read", "err", err)
		} else {
			s.reg = make(map[string]sqlite.Ward, len(ws))
			for _, w := range ws {
				s.reg[w.ID] = w
			}
			s.regAt = now
		}
	}
	return s.reg
}

func (s *notifySource) Wards() []notify.Ward {
	reg := s.registry()
	var out []notify.Ward
	s.c.board.Board().Each(func(v fleet.View) {
		w := notify.Ward{ID: v.ID}
		if r, ok := reg[v.ID]; ok {
			w.Name, w.Groups = r.DisplayName, r.Groups
		} else if !v.Registered {
			return // a ward no longer registered
		}
		for _, p := range v.Health.Problems {
			if rule := notify.RuleOf(p.State); rule != "" {
				w.Problems = append(w.Problems, notify.Problem{Rule: rule, Detail: p.Detail})
			}
		}
		out = append(out, w)
	})
	return out
}

// OpenAlerts are the alerts of the last day, not cancelled, that some
// ward has not finished, read at most every notifyAlertsEvery.
func (s *notifySource) OpenAlerts() []notify.OpenAlert {
	s.mu.Lock()
	defer s.mu.Unlock()
	mono := time.Now()
	if !s.alertsAt.IsZero() && mono.Sub(s.alertsAt) < notifyAlertsEvery {
		return s.openAlert
	}
	s.alertsAt = mono
	ctx := context.Background()
	list, err := s.c.Alerting.List(ctx, 100)
	if err != nil {
		s.c.Log.Warn("notify: alerts not read", "err", err)
		return s.openAlert
	}
	now, late := s.c.Now(), time.Duration(s.c.Config.Notify.AlertLate)
	var open []notify.OpenAlert
	for _, a := range list {
		if a.CancelledBy != "" || a.MsgType == "Cancel" || now.Sub(a.Issued) > 24*time.Hour || now.Sub(a.Issued) < late {
			continue
		}
		st, err := s.c.Alerting.Status(ctx, a.ID)
		if err != nil || st.State == "cancelled" || st.Summary.Wards == 0 || st.Summary.Done >= st.Summary.Wards {
			continue
		}
		open = append(open, notify.OpenAlert{ID: a.ID, Target: a.Targets, Title: a.Headline, Since: a.Issued})
	}
	s.openAlert = open
	return open
}

// notifySubs are the stored subscriptions with their users' scopes.
type notifySubs struct{ c *City }

func (n notifySubs) Subscriptions(ctx context.Context) ([]notify.Subscription, error) {
	rows, err := n.c.DB.Read().NotifySubscriptions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]notify.Subscription, 0, len(rows))
	for _, r := range rows {
		sc, err := n.c.Accounts.UserScope(ctx, r.User)
		if err != nil {
			n.c.Log.Warn("notify: user's scope not read; not told", "user", r.User, "err", err)
			continue
		}
		out = append(out, notify.Subscription{User: r.User, Email: r.Email, Telegram: r.Telegram, Webhook: r.Webhook, Rules: r.Rules, Scope: sc})
	}
	return out, nil
}

// notifySettingsStore is the users' subscriptions in the database.
type notifySettingsStore struct{ c *City }

func (n notifySettingsStore) Subscription(ctx context.Context, user string) (notify.Subscription, bool, error) {
	r, err := n.c.DB.Read().NotifySubscription(ctx, user)
	if errors.Is(err, sqlite.ErrNotFound) {
		return notify.Subscription{User: user}, false, nil
	}
	if err != nil {
		return notify.Subscription{}, false, err
	}
	return notify.Subscription{User: r.User, Email: r.Email, Telegram: r.Telegram, Webhook: r.Webhook, Rules: r.Rules}, true, nil
}

func (n notifySettingsStore) PutSubscription(ctx context.Context, s notify.Subscription) error {
	err := n.c.DB.Update(ctx, func(tx sqlite.CityTx) error {
		return tx.PutNotifySubscription(ctx, sqlite.NotifySubscription{User: s.User, Email: s.Email, Telegram: s.Telegram, Webhook: s.Webhook, Rules: s.Rules})
	})
	if errors.Is(err, sqlite.ErrNotFound) {
		return badInput("user %q: không có người dùng này / no such user", s.User)
	}
	return err
}
