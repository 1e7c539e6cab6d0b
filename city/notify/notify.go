// Package notify tells technicians when a ward goes wrong, without a
// Prometheus and Alertmanager of their own: it watches the fleet board
// (through a small Source interface: the board's Watch wake-up and a
// snapshot of each ward's problems) and the alerts not yet finished, opens
// an incident per ward and rule, and sends each subscriber whose scope
// reaches the ward one message when it opens and one "resolved" when it
// has stayed clear for the quiet period. A ward that flaps inside the
// quiet period keeps its one incident: one message, then one resolve.
//
// Messages go out through Channels (e-mail over SMTP, a Telegram bot, a
// signed JSON webhook) from a queue of their own, retried with backoff:
// a slow or failing channel never holds up the board or the other
// channels, and is visible in the log and in /metrics.
//
// Time is injected (Now); Evaluate is the whole decision and is what the
// tests drive on a virtual clock.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"loa/city/accounts"
	"loa/fleet"
)

// Rules a user may subscribe to.
const (
	RuleSilent    = "silent"
	RuleOffline   = "offline"
	RuleOutOfSync = "out_of_sync"
	RuleClock     = "clock"
	RuleDisk      = "disk"
	RuleAlertLate = "alert_late"
)

// Rules lists every rule, in the order messages and pages show them.
var Rules = []string{RuleOffline, RuleSilent, RuleOutOfSync, RuleClock, RuleDisk, RuleAlertLate}

// ruleText is each rule in Vietnamese and English.
var ruleText = map[string][2]string{
	RuleOffline:   {"Mất kết nối", "Offline"},
	RuleSilent:    {"Im lặng bất thường", "Silent on air"},
	RuleOutOfSync: {"Lệch đồng bộ", "Out of sync"},
	RuleClock:     {"Sai giờ", "Clock untrusted"},
	RuleDisk:      {"Sắp đầy đĩa", "Disk low"},
	RuleAlertLate: {"Cảnh báo chưa phát xong", "Alert not finished"},
}

// RuleText is rule's name, Vietnamese then English.
func RuleText(rule string) (vi, en string) {
	t, ok := ruleText[rule]
	if !ok {
		return rule, rule
	}
	return t[0], t[1]
}

// RuleOf is the rule a fleet state falls under ("" none).
func RuleOf(s fleet.State) string {
	switch s {
	case fleet.Offline:
		return RuleOffline
	case fleet.Silent:
		return RuleSilent
	case fleet.OutOfSync:
		return RuleOutOfSync
	case fleet.ClockBad:
		return RuleClock
	case fleet.DiskLow:
		return RuleDisk
	}
	return ""
}

// Problem is one rule that applies to a ward now.
type Problem struct {
	Rule   string
	Detail string
}

// Ward is a ward as the board sees it now.
type Ward struct {
	ID       string
	Name     string // display name ("" none)
	Groups   []string
	Problems []Problem
}

// OpenAlert is an alert not yet finished.
type OpenAlert struct {
	ID     string
	Target string // the alert's target list (wards, groups, "all")
	Title  string
	Since  time.Time // when it was sent
}

// Source is what notify watches: the board (city/board's Watch) and the
// alerts not finished (city/alerting).
type Source interface {
	// Watch returns a channel woken after the board changed, and its stop.
	Watch() (changed <-chan struct{}, stop func())
	// Wards is every ward with its problems now.
	Wards() []Ward
	// OpenAlerts are the alerts sent and not finished.
	OpenAlerts() []OpenAlert
}

// Subscription is one user's: where they are told and of what.
type Subscription struct {
	User     string   `json:"user"`
	Email    string   `json:"email,omitempty"`
	Telegram string   `json:"telegram,omitempty"` // chat id
	Webhook  string   `json:"webhook,omitempty"`  // URL
	Rules    []string `json:"rules"`              // empty: none
	// Scope is the user's scope (accounts.UserScope), filled by the store.
	Scope accounts.Scope `json:"-"`
}

// Wants reports whether s subscribes to rule.
func (s Subscription) Wants(rule string) bool { return slices.Contains(s.Rules, rule) }

// Subscriptions are the stored subscriptions with their users' scopes.
type Subscriptions interface {
	Subscriptions(ctx context.Context) ([]Subscription, error)
}

// Config is how notify decides.
type Config struct {
	// Quiet is how long a problem must stay clear before "resolved" is
	// sent; a problem back inside it continues the same incident (0: 5m).
	Quiet time.Duration
	// AlertLate: an alert not finished this long after it was sent opens
	// an alert_late incident (0: 30m).
	AlertLate time.Duration
	// Tick is how often the service re-evaluates without a wake-up, so
	// that quiet periods end and alerts grow late (0: 5s).
	Tick time.Duration
	// MinGap is the least time between two evaluations woken by the
	// board (0: 1s).
	MinGap time.Duration
}

func (c Config) withDefaults() Config {
	if c.Quiet <= 0 {
		c.Quiet = 5 * time.Minute
	}
	if c.AlertLate <= 0 {
		c.AlertLate = 30 * time.Minute
	}
	if c.Tick <= 0 {
		c.Tick = 5 * time.Second
	}
	if c.MinGap <= 0 {
		c.MinGap = time.Second
	}
	return c
}

// Message is one notification.
type Message struct {
	Kind     string    `json:"kind"` // "problem" | "resolved"
	Rule     string    `json:"rule"`
	Ward     string    `json:"ward,omitempty"`
	WardName string    `json:"ward_name,omitempty"`
	Alert    string    `json:"alert,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	Since    time.Time `json:"since"`
	At       time.Time `json:"at"`
	User     string    `json:"user"`
	Subject  string    `json:"subject"`
	Text     string    `json:"text"`
}

// Kinds of message.
const (
	KindProblem  = "problem"
	KindResolved = "resolved"
)

type incident struct {
	ward    Ward
	alert   *OpenAlert
	rule    string
	detail  string
	since   time.Time
	clear   time.Time // zero while the problem holds
	told    []string  // users sent the problem message
	unknown bool      // found at start: never announced, never resolved
}

// Service is the notifier.
type Service struct {
	src  Source
	subs Subscriptions
	out  *Outbox
	cfg  Config
	now  func() time.Time
	log  *slog.Logger

	mu        sync.Mutex
	incidents map[string]*incident
	started   bool
}

// New returns the notifier. out delivers the messages; now is the clock.
func New(src Source, subs Subscriptions, out *Outbox, cfg Config, now func() time.Time, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{src: src, subs: subs, out: out, cfg: cfg.withDefaults(), now: now, log: log,
		incidents: map[string]*incident{}}
}

// Run evaluates after every board change and every Tick until ctx ends.
// It only reads the board: the board's wake-up never waits for it.
func (s *Service) Run(ctx context.Context) {
	changed, stop := s.src.Watch()
	defer stop()
	tick := time.NewTicker(s.cfg.Tick)
	defer tick.Stop()
	for {
		s.Evaluate(ctx)
		select {
		case <-ctx.Done():
			return
		case <-changed:
			// heartbeats wake the board many times a second in a big
			// city: evaluate at most once per MinGap
			t := time.NewTimer(s.cfg.MinGap)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		case <-tick.C:
		}
	}
}

// Evaluate compares the problems now with the open incidents and sends
// what changed. The first call only learns what is already wrong (a city
// restart does not repeat every message).
func (s *Service) Evaluate(ctx context.Context) {
	now := s.now()
	wards := s.src.Wards()
	alerts := s.src.OpenAlerts()
	places := make([]accounts.Place, len(wards))
	current := map[string]*incident{}
	for i, w := range wards {
		places[i] = accounts.Place{ID: w.ID, Groups: w.Groups}
		for _, p := range w.Problems {
			if p.Rule == "" {
				continue
			}
			current["w/"+w.ID+"/"+p.Rule] = &incident{ward: w, rule: p.Rule, detail: p.Detail}
		}
	}
	for i := range alerts {
		a := alerts[i]
		if now.Sub(a.Since) < s.cfg.AlertLate {
			continue
		}
		current["a/"+a.ID] = &incident{alert: &a, rule: RuleAlertLate, detail: a.Title}
	}

	s.mu.Lock()
	first := !s.started
	s.started = true
	var opened, resolved []*incident
	for k, c := range current {
		if in := s.incidents[k]; in != nil {
			in.clear = time.Time{}
			in.detail = c.detail
			continue
		}
		c.since = now
		c.unknown = first
		s.incidents[k] = c
		if !first {
			opened = append(opened, c)
		}
	}
	for k, in := range s.incidents {
		if current[k] != nil {
			continue
		}
		if in.clear.IsZero() {
			in.clear = now
		}
		if now.Sub(in.clear) >= s.cfg.Quiet {
			delete(s.incidents, k)
			if !in.unknown {
				resolved = append(resolved, in)
			}
		}
	}
	s.mu.Unlock()
	if first && len(current) > 0 {
		s.log.Info("notify: problems already open at start are not announced", "count", len(current))
	}
	if len(opened) == 0 && len(resolved) == 0 {
		return
	}
	subs, err := s.subs.Subscriptions(ctx)
	if err != nil {
		s.log.Error("notify: subscriptions not read", "err", err)
		return
	}
	sortIncidents(opened)
	sortIncidents(resolved)
	for _, in := range opened {
		for _, sub := range subs {
			if !sub.Wants(in.rule) || !reaches(sub.Scope, in, places) {
				continue
			}
			s.mu.Lock()
			in.told = append(in.told, sub.User)
			s.mu.Unlock()
			s.out.Send(sub, compose(KindProblem, in, sub.User, now))
		}
	}
	for _, in := range resolved {
		for _, sub := range subs {
			// resolve to those told; they may have unsubscribed since
			if !slices.Contains(in.told, sub.User) {
				continue
			}
			s.out.Send(sub, compose(KindResolved, in, sub.User, now))
		}
	}
}

// Open is how many incidents are open now.
func (s *Service) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.incidents)
}

func sortIncidents(ins []*incident) {
	sort.Slice(ins, func(i, j int) bool {
		a, b := ins[i], ins[j]
		if a.ward.ID != b.ward.ID {
			return a.ward.ID < b.ward.ID
		}
		return a.rule < b.rule
	})
}

func reaches(sc accounts.Scope, in *incident, places []accounts.Place) bool {
	if in.alert != nil {
		return sc.Reaches(in.alert.Target, places)
	}
	return sc.Allows(accounts.Place{ID: in.ward.ID, Groups: in.ward.Groups})
}

// compose writes the message, Vietnamese first, English beside it.
func compose(kind string, in *incident, user string, now time.Time) Message {
	vi, en := RuleText(in.rule)
	m := Message{Kind: kind, Rule: in.rule, Detail: in.detail, Since: in.since, At: now, User: user}
	var who string
	if in.alert != nil {
		m.Alert = in.alert.ID
		who = fmt.Sprintf("cảnh báo / alert %s (%s)", in.alert.ID, in.alert.Target)
	} else {
		m.Ward, m.WardName = in.ward.ID, in.ward.Name
		who = "phường / ward " + in.ward.ID
		if in.ward.Name != "" {
			who = in.ward.Name + " (" + in.ward.ID + ")"
		}
	}
	var b strings.Builder
	if kind == KindResolved {
		m.Subject = fmt.Sprintf("[loa] Đã khắc phục / Resolved: %s / %s — %s", vi, en, who)
		fmt.Fprintf(&b, "Đã khắc phục: %s — %s.\nResolved: %s — %s.\n", vi, who, en, who)
		fmt.Fprintf(&b, "Từ / from %s đến / to %s (%s).\n", in.since.Format(time.RFC3339), now.Format(time.RFC3339), now.Sub(in.since).Round(time.Second))
	} else {
		m.Subject = fmt.Sprintf("[loa] %s / %s — %s", vi, en, who)
		fmt.Fprintf(&b, "%s — %s.\n%s — %s.\n", vi, who, en, who)
		fmt.Fprintf(&b, "Từ / since %s.\n", in.since.Format(time.RFC3339))
	}
	if in.detail != "" {
		fmt.Fprintf(&b, "Chi tiết / detail: %s\n", in.detail)
	}
	m.Text = b.String()
	return m
}
