package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"loa/internal/backoff"
)

// Channel sends one message to one address (an e-mail address, a
// Telegram chat, a webhook URL).
type Channel interface {
	// Name is the channel's name: email, telegram, webhook.
	Name() string
	// Send delivers m to to, or says why not.
	Send(ctx context.Context, to string, m Message) error
}

// OutboxConfig bounds delivery.
type OutboxConfig struct {
	// Attempts per message before it is given up (0: 6).
	Attempts int
	// RetryMin and RetryMax bound the backoff between attempts (0: 5s, 5m).
	RetryMin, RetryMax time.Duration
	// Queue is how many messages wait per channel; more are dropped and
	// counted (0: 1000).
	Queue int
	// Timeout bounds one attempt (0: 30s).
	Timeout time.Duration
}

type job struct {
	to string
	m  Message
}

type lane struct {
	ch    Channel
	queue chan job
}

// Outbox delivers messages, one queue and one worker per channel: a
// failing channel retries with backoff without holding up the others, and
// Send never blocks (a full queue drops the message, logged and counted).
type Outbox struct {
	cfg   OutboxConfig
	log   *slog.Logger
	lanes map[string]*lane
	// Sleep waits d or until ctx ends (tests make it instant).
	Sleep func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	sent    map[string]float64
	failed  map[string]float64
	dropped map[string]float64
	gaveUp  map[string]float64
	up      map[string]bool
	lastErr map[string]string
}

// NewOutbox returns an outbox over the configured channels (nil ones are
// left out).
func NewOutbox(cfg OutboxConfig, log *slog.Logger, channels ...Channel) *Outbox {
	if cfg.Attempts <= 0 {
		cfg.Attempts = 6
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 5 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 1000
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := &Outbox{cfg: cfg, log: log, lanes: map[string]*lane{}, Sleep: sleep,
		sent: map[string]float64{}, failed: map[string]float64{}, dropped: map[string]float64{},
		gaveUp: map[string]float64{}, up: map[string]bool{}, lastErr: map[string]string{}}
	for _, c := range channels {
		if c == nil {
			continue
		}
		o.lanes[c.Name()] = &lane{ch: c, queue: make(chan job, cfg.Queue)}
		o.up[c.Name()] = true
	}
	return o
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Has reports whether channel name is configured.
func (o *Outbox) Has(name string) bool { return o.lanes[name] != nil }

// Send queues m for each of sub's addresses on a configured channel.
func (o *Outbox) Send(sub Subscription, m Message) {
	for name, to := range map[string]string{"email": sub.Email, "telegram": sub.Telegram, "webhook": sub.Webhook} {
		if to == "" {
			continue
		}
		l := o.lanes[name]
		if l == nil {
			o.log.Warn("notify: channel not configured; message not sent", "channel", name, "user", sub.User)
			o.count(o.dropped, name)
			continue
		}
		select {
		case l.queue <- job{to: to, m: m}:
		default:
			o.log.Error("notify: queue full; message dropped", "channel", name, "user", sub.User, "subject", m.Subject)
			o.count(o.dropped, name)
		}
	}
}

func (o *Outbox) count(m map[string]float64, name string) {
	o.mu.Lock()
	m[name]++
	o.mu.Unlock()
}

// Run delivers until ctx ends.
func (o *Outbox) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, l := range o.lanes {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-l.queue:
					o.deliver(ctx, l.ch, j)
				}
			}
		})
	}
	wg.Wait()
}

func (o *Outbox) deliver(ctx context.Context, ch Channel, j job) {
	name := ch.Name()
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
		err := ch.Send(actx, j.to, j.m)
		cancel()
		o.mu.Lock()
		if err == nil {
			o.sent[name]++
			if !o.up[name] {
				o.log.Info("notify: channel works again", "channel", name)
			}
			o.up[name] = true
			o.mu.Unlock()
			return
		}
		o.failed[name]++
		o.up[name] = false
		o.lastErr[name] = err.Error()
		o.mu.Unlock()
		if n >= o.cfg.Attempts {
			o.count(o.gaveUp, name)
			o.log.Error("notify: message given up", "channel", name, "user", j.m.User, "subject", j.m.Subject, "attempts", n, "err", err)
			return
		}
		wait := backoff.Wait(n, o.cfg.RetryMin, o.cfg.RetryMax)
		o.log.Warn("notify: channel failed; retrying", "channel", name, "user", j.m.User, "attempt", n, "retry_in", wait, "err", err)
		if o.Sleep(ctx, wait) != nil {
			return
		}
	}
}

// ChannelStatus is a channel's delivery counts.
type ChannelStatus struct {
	Sent, Failed, Dropped, GaveUp float64
	Up                            bool
	LastError                     string
}

// Status is each configured channel's counts.
func (o *Outbox) Status() map[string]ChannelStatus {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]ChannelStatus{}
	for name := range o.lanes {
		out[name] = ChannelStatus{Sent: o.sent[name], Failed: o.failed[name], Dropped: o.dropped[name],
			GaveUp: o.gaveUp[name], Up: o.up[name], LastError: o.lastErr[name]}
	}
	return out
}

var (
	descSent    = prometheus.NewDesc("loa_notify_sent_total", "Notifications delivered, by channel.", []string{"channel"}, nil)
	descFailed  = prometheus.NewDesc("loa_notify_failed_attempts_total", "Failed delivery attempts (each retried with backoff), by channel.", []string{"channel"}, nil)
	descDropped = prometheus.NewDesc("loa_notify_dropped_total", "Notifications dropped: queue full or channel not configured.", []string{"channel"}, nil)
	descGaveUp  = prometheus.NewDesc("loa_notify_given_up_total", "Notifications given up after every attempt failed.", []string{"channel"}, nil)
	descUp      = prometheus.NewDesc("loa_notify_channel_up", "1 when the channel's last attempt worked (0: failing).", []string{"channel"}, nil)
)

// Collector is the outbox's /metrics series.
func (o *Outbox) Collector() prometheus.Collector { return collector{o} }

type collector struct{ o *Outbox }

func (c collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for name, s := range c.o.Status() {
		ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, s.Sent, name)
		ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, s.Failed, name)
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, s.Dropped, name)
		ch <- prometheus.MustNewConstMetric(descGaveUp, prometheus.CounterValue, s.GaveUp, name)
		up := 0.0
		if s.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, name)
	}
}

var descOpen = prometheus.NewDesc("loa_notify_incidents_open", "Incidents open now (a ward and rule, or an alert not finished): told, not yet resolved.", nil, nil)

// Collector is the notifier's /metrics series: the incidents open.
func (s *Service) Collector() prometheus.Collector { return openCollector{s} }

type openCollector struct{ s *Service }

func (c openCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descOpen }

func (c openCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(c.s.Open()))
}
