package alertrx

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"loa/natsbus"
)

// linkStater is the NATS link's state, for the status.
type linkStater interface {
	State() natsbus.LinkState
}

// Run connects to the city's NATS (reconnecting for ever, with backoff)
// and handles alerts until ctx ends: it reads the ward's consumer, sends
// the receipts queued in the database, resumes alerts a restart cut, and
// passes program-change notifications on.
func (r *Receiver) Run(ctx context.Context) error {
	link := r.cfg.Link
	if link == nil {
		var err error
		if link, err = Dial(r.cfg.NATS, r.cfg.Seed, r.cfg.Ward, r.log, r.cfg.TLS); err != nil {
			return err
		}
		defer link.Close()
	}
	r.mu.Lock()
	r.link = link
	r.mu.Unlock()
	js, err := jetstream.New(link.Conn)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.linkTime = func(ctx context.Context) (time.Time, error) {
		return natsServerTime(ctx, js, r.cfg.Ward)
	}
	r.mu.Unlock()
	link.OnChange(func(up bool) {
		if up {
			r.wakeSender()
		}
	})
	if r.cfg.OnNotify != nil {
		link.Conn.Subscribe(natsbus.NotifyWard(r.cfg.Ward), func(*nats.Msg) { r.cfg.OnNotify(false) })
		link.Conn.Subscribe(natsbus.NotifyAll, func(*nats.Msg) {
			// Every ward at once would ask the city together: spread them.
			time.AfterFunc(time.Duration(rand.Int64N(int64(2*time.Second))), func() { r.cfg.OnNotify(true) })
		})
	}
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); r.retryHeld(ctx) }()
	go func() { defer wg.Done(); r.playerEvents(ctx) }()
	go func() { defer wg.Done(); r.sendReports(ctx, js) }()
	go func() { defer wg.Done(); r.prune(ctx) }()
	r.resume(ctx)
	r.consume(ctx, js)
	wg.Wait()
	return nil
}

// A ward's pull request waits at the server for pullExpiry; the server
// sends a heartbeat every pullHeartbeat while it waits, and two missed
// mean the request was lost (its server died): a new one is sent. On a
// 3G link that is about 1 MB a day; it bounds how long a failover in a
// cluster can hold an alert up (about 2 × pullHeartbeat).
const (
	pullExpiry    = 60 * time.Second
	pullHeartbeat = 10 * time.Second
	// receiptSpread: see sendReports.
	receiptSpread = 500 * time.Millisecond
)

// Dial connects a ward to the city's NATS: its NKEY, its own inbox
// prefix (the only replies it may read), reconnecting for ever. It returns
// at once; the link comes up when a server answers.
//
// Servers named tls://… are reached over TLS with tlsConf (the agent
// passes its pinned configuration, city.tls_pin); nil: the system's
// authorities decide.
func Dial(urls, seed, ward string, log *slog.Logger, tlsConf *tls.Config) (*natsbus.Link, error) {
	o := natsbus.ConnOptions{URLs: urls, Seed: seed, Name: "loa-agent " + ward,
		InboxPrefix: natsbus.InboxPrefix(ward), Log: log.With("component", "nats")}
	if strings.Contains(urls, "tls://") {
		if tlsConf == nil {
			tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.TLS = tlsConf
	}
	return natsbus.Dial(o)
}

// consume reads the ward's durable consumer; when it stops (the consumer
// is not there yet, the server changed) it starts again.
func (r *Receiver) consume(ctx context.Context, js jetstream.JetStream) {
	natsbus.ConsumeLoop{
		Name: "alert consumer",
		Consumer: func(ctx context.Context) (jetstream.Consumer, error) {
			return js.Consumer(ctx, natsbus.StreamAlerts, natsbus.Consumer(r.cfg.Ward))
		},
		Handle: func(m jetstream.Msg) { r.onMsg(ctx, m) },
		Pull:   []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(16), jetstream.PullExpiry(pullExpiry), jetstream.PullHeartbeat(pullHeartbeat)},
		OnState: func(err error) {
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			r.setConsumerErr(msg)
		},
		Log: r.log,
	}.Run(ctx)
}

func (r *Receiver) onMsg(ctx context.Context, m jetstream.Msg) {
	recv := r.cfg.Now()
	var seq uint64
	if md, err := m.Metadata(); err == nil {
		seq = md.Sequence.Stream
	}
	if err := r.Handle(ctx, m.Data(), seq, recv); err != nil {
		r.log.Error("alert not handled; it will come again", "seq", seq, "err", err)
		m.NakWithDelay(2 * time.Second)
		return
	}
	m.Ack()
}

// natsServerTime asks the NATS server for its clock: the time stamp of the
// ward's consumer info, plus half the round trip.
func natsServerTime(ctx context.Context, js jetstream.JetStream, ward string) (time.Time, error) {
	t0 := time.Now()
	cons, err := js.Consumer(ctx, natsbus.StreamAlerts, natsbus.Consumer(ward))
	if err != nil {
		return time.Time{}, err
	}
	ts := cons.CachedInfo().TimeStamp
	if ts.IsZero() {
		return time.Time{}, errors.New("the NATS server does not say its time (consumer info without ts)")
	}
	return ts.Add(time.Since(t0) / 2), nil
}

func (r *Receiver) setConsumerErr(s string) {
	r.mu.Lock()
	r.consErr = s
	r.mu.Unlock()
}

func (r *Receiver) wakeSender() {
	select {
	case r.outbox <- struct{}{}:
	default:
	}
}

// sendReports publishes the queued receipts on loa.report.<ward>, each
// until JetStream acknowledges it (its id is its content's hash: a retry
// after a lost acknowledgement is not a second receipt).
func (r *Receiver) sendReports(ctx context.Context, js jetstream.JetStream) {
	subject := natsbus.Report(r.cfg.Ward)
	wait := time.Second
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.outbox:
			// Receipts carry the time of what they report: sending them
			// up to half a second later costs nothing, and keeps a
			// thousand wards from answering the city in the very
			// milliseconds it is still delivering the alert to others.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(rand.Int64N(int64(receiptSpread)))):
			}
		case <-timer.C:
		}
		queued, err := r.cfg.DB.QueuedReports(ctx, 100)
		if err != nil {
			r.log.Error("queued alert receipts", "err", err)
		}
		publish := func(body []byte) bool {
			sum := sha256.Sum256(body)
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := js.Publish(pctx, subject, body, jetstream.WithMsgID(r.cfg.Ward+"/"+hex.EncodeToString(sum[:12])))
			cancel()
			if err != nil && ctx.Err() == nil {
				r.log.Debug("alert receipt not sent yet", "err", err)
			}
			return err == nil
		}
		failed := false
		for _, q := range queued {
			if !publish(q.Body) {
				failed = true
				break
			}
			r.cfg.DB.DeleteQueuedReport(context.WithoutCancel(ctx), q.ID)
		}
		// Receipts the disk refused are sent from memory (alert_outbox.go).
		for _, q := range r.heldReceipts() {
			if failed || !publish(q.body) {
				failed = true
				break
			}
			r.receiptSent(q)
		}
		switch {
		case failed:
			timer.Reset(wait)
			wait = min(wait*2, 30*time.Second)
		case len(queued) == 100:
			wait = time.Second
			timer.Reset(0)
		default:
			wait = time.Second
			timer.Reset(time.Minute)
		}
	}
}

// prune drops, hourly, the replay records of alerts expired a week ago.
func (r *Receiver) prune(ctx context.Context) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if n, err := r.cfg.DB.PruneSeenAlerts(ctx, r.cfg.Now().Add(-7*24*time.Hour)); err != nil {
				r.log.Error("alert records clean-up", "err", err)
			} else if n > 0 {
				r.log.Info("old alert records removed", "rows", n)
			}
		}
	}
}

// State is the alert link's part of the status.
type State struct {
	NATS natsbus.LinkState `json:"nats"`
	// Consumer is "" when the ward reads its alerts, else why not.
	Consumer string `json:"consumer_error,omitempty"`
	// Last is the last alert accepted.
	Last *Summary `json:"last,omitempty"`
	// Rejected counts alerts refused since start.
	Rejected int64 `json:"rejected"`
	// QueuedReports are receipts the city has not acknowledged yet.
	QueuedReports int `json:"queued_reports"`
	// Unsaved counts replay records, states and receipts a full disk
	// refused, held in memory and retried.
	Unsaved int `json:"unsaved,omitempty"`
}

// State returns the receiver's state.
func (r *Receiver) State(ctx context.Context) State {
	r.mu.Lock()
	st := State{Consumer: r.consErr, Rejected: r.rejected}
	if r.last != nil {
		l := *r.last
		st.Last = &l
	}
	link := r.link
	r.mu.Unlock()
	if link != nil {
		st.NATS = link.State()
	}
	if q, err := r.cfg.DB.QueuedReports(ctx, 1000); err == nil {
		st.QueuedReports = len(q)
	}
	st.QueuedReports += len(r.heldReceipts())
	st.Unsaved = r.held.count()
	return st
}

// Unsaved counts the replay records, states and receipts a full disk
// refused, held in memory and retried (for the disk's status).
func (r *Receiver) Unsaved() int { return r.held.count() }
