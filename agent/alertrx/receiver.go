package alertrx

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"loa/alert"
	"loa/natsbus"
	"loa/player"
	"loa/signing"
	"loa/sqlite"
)

// Player is what the alert receiver asks of the player.
type Player interface {
	PlayAlert(player.Alert)
	CancelAlert(id string)
}

// Media gets an alert's media into the station.
type Media interface {
	HasMedia(key string) bool
	// FetchMedia downloads m from the city (HTTP), checks it and stores it
	// ready to play.
	FetchMedia(ctx context.Context, m alert.Media) error
}

// Store is the ward's database as the receiver uses it: the replay guard
// (the alerts seen, their states) and the outbox of receipts. The agent's
// *sqlite.AgentDB is one; the tests use it on a real file.
type Store interface {
	SeenAlertIDs(ctx context.Context) (map[string]uint64, error)
	AddSeenAlert(ctx context.Context, s sqlite.SeenAlert) error
	SetSeenAlertState(ctx context.Context, id, state string) error
	OpenAlerts(ctx context.Context, now time.Time) ([]sqlite.SeenAlert, error)
	PruneSeenAlerts(ctx context.Context, cutoff time.Time) (int64, error)
	QueueReport(ctx context.Context, body []byte) (int64, error)
	QueuedReports(ctx context.Context, n int) ([]sqlite.QueuedReport, error)
	DeleteQueuedReport(ctx context.Context, id int64) error
}

// Config configures a Receiver.
type Config struct {
	// Ward is this ward's id: alerts for others are refused.
	Ward string
	// NATS are the server URLs (city.nats), Seed the ward's NKEY seed
	// (city.nats_key). Link, if set, is a connection made with them
	// already (shared with the fleet reports); Run does not close it.
	NATS string
	Seed string
	Link *natsbus.Link
	// TLS is the configuration of a tls:// link Run dials itself (nil:
	// the system's authorities decide).
	TLS *tls.Config
	// PublicKeys are the city keys trusted (city.public_key).
	PublicKeys []ed25519.PublicKey
	// ReceiptKey is the ward's own key: it signs the receipts (nil: they
	// go unsigned, as from agents older than receipt signing).
	ReceiptKey ed25519.PrivateKey
	DB         Store
	Media      Media
	Player     Player
	// PlayTests puts Test and Exercise alerts on air (alerts.play_tests).
	PlayTests bool
	Now       func() time.Time
	Log       *slog.Logger
	// Rejected counts refusals by reason (loa_alerts_rejected_total).
	Rejected *prometheus.CounterVec
	// OnNotify is called when the city says the ward's programs changed
	// (all: the message was for every ward).
	OnNotify func(all bool)
	// Kick asks the daemon to step the player now rather than at its next
	// tick, so that an emergency is not held up by the step interval.
	Kick func()
	// OnAir, if set, says which alert is on air and since when (the
	// player's status): the receiver reports "started" from it.
	OnAir func() (id string, start time.Time, ok bool)
	// Clock says how far Now is trusted (nil: an independent, trusted
	// clock). ServerTime asks the NATS server for its clock (nil: the
	// link's, once Run has it). Both feed the expiry rule (alertExpired).
	Clock      func() StationClock
	ServerTime func(context.Context) (time.Time, error)
	// HeldRetryEvery is how often what a full disk refused is written
	// again (zero: defaultHeldRetryEvery).
	HeldRetryEvery time.Duration
}

// defaultHeldRetryEvery: see Config.HeldRetryEvery.
const defaultHeldRetryEvery = 2 * time.Second

// Receiver takes the city's alerts from NATS, checks them, plays
// them and reports back. Everything from the network is refused unless,
// in order: it is a signed envelope, the signature verifies under a key
// from the ward's own configuration, the alert inside is well formed, it
// is addressed to this ward, it has not expired, and its id was never
// accepted before (the record survives restarts). Each refusal is logged,
// counted by reason and reported to the city.
type Receiver struct {
	cfg Config
	log *slog.Logger

	events   chan player.AlertOutcome // from the player's goroutine
	outbox   chan struct{}            // a report was queued
	reportNo int64

	mu       sync.Mutex
	seen     map[string]uint64       // ids accepted (or refused as expired) → stream sequence
	active   map[string]*activeAlert // accepted, not ended
	last     *Summary
	rejected int64
	// rejections reported in the current minute (see reject)
	rejWindow                  time.Time
	rejInWindow, rejSuppressed int
	link                       linkStater
	consErr                    string
	linkTime                   func(context.Context) (time.Time, error)
	// held is what a full disk refused, retried (alert_outbox.go).
	held heldAlertState
}

// activeAlert is an accepted alert that has not ended.
type activeAlert struct {
	a         *alert.Alert
	handed    bool // given to the player
	started   bool // "started" reported
	cancelled bool
	fetchMS   int64
	// expires is when it expires on the station's clock (alertExpired).
	expires time.Time
}

// Summary is the last alert the ward accepted, for its status.
type Summary struct {
	ID       string    `json:"id"`
	Priority string    `json:"priority"`
	Headline string    `json:"headline,omitempty"`
	State    string    `json:"state"`
	At       time.Time `json:"at"`
}

// New checks the configuration.
func New(cfg Config) (*Receiver, error) {
	switch {
	case !alert.ValidName(cfg.Ward):
		return nil, fmt.Errorf("ward: %q is not a ward id (alerts need the ward's id)", cfg.Ward)
	case len(cfg.PublicKeys) == 0:
		return nil, errors.New("no city public key to verify alerts with")
	case cfg.DB == nil || cfg.Media == nil || cfg.Player == nil:
		return nil, errors.New("alert receiver: database, media and player are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.HeldRetryEvery <= 0 {
		cfg.HeldRetryEvery = defaultHeldRetryEvery
	}
	seen, err := cfg.DB.SeenAlertIDs(context.Background())
	if err != nil {
		return nil, fmt.Errorf("alerts seen: %w", err)
	}
	r := &Receiver{cfg: cfg, log: cfg.Log, events: make(chan player.AlertOutcome, 256), outbox: make(chan struct{}, 1),
		active: map[string]*activeAlert{}, seen: seen}
	if cfg.Rejected != nil {
		for _, reason := range alert.RejectReasons {
			cfg.Rejected.WithLabelValues(reason)
		}
	}
	return r, nil
}

// Handle processes one message from the ward's consumer: seq is its
// sequence in ALERTS (0 if unknown), recv when it arrived. It returns an
// error only when the message must be delivered again (the database
// failed); a refused alert is handled (and acknowledged).
func (r *Receiver) Handle(ctx context.Context, data []byte, seq uint64, recv time.Time) error {
	env, err := alert.ReadEnvelope(data)
	if err != nil {
		reason := alert.ReasonUnsigned
		if errors.Is(err, alert.ErrTooLarge) {
			reason = alert.ReasonInvalid
		}
		r.reject(ctx, claimedID(env.Payload), false, reason, err, seq)
		return nil
	}
	a, err := alert.Open(env, r.cfg.PublicKeys...)
	switch {
	case errors.Is(err, signing.ErrUnknownKey):
		r.reject(ctx, claimedID(env.Payload), false, alert.ReasonUnknownKey, err, seq)
		return nil
	case errors.Is(err, signing.ErrBadSignature):
		r.reject(ctx, claimedID(env.Payload), false, alert.ReasonBadSignature, err, seq)
		return nil
	case err != nil:
		// Signed by the city, but not something a ward can play: a city
		// bug, or a newer city. Verified: the id is the city's.
		r.reject(ctx, claimedID(env.Payload), true, alert.ReasonInvalid, err, seq)
		return nil
	}
	if !a.For(r.cfg.Ward) {
		r.reject(ctx, a.ID, true, alert.ReasonNotAddressed, fmt.Errorf("for %s, this is %s", a.Targets.String(), r.cfg.Ward), seq)
		return nil
	}
	r.mu.Lock()
	seenSeq, seen := r.seen[a.ID]
	first := !seen
	if first {
		r.seen[a.ID] = seq // held from here: a second copy is a replay
	}
	r.mu.Unlock()
	if seen && seq != 0 && seenSeq == seq {
		// The same copy again (its acknowledgement was lost, or the city's
		// server restarted and delivers the live alerts again).
		r.log.Debug("alert delivered again; already handled", "alert", a.ID, "seq", seq)
		return nil
	}
	v := r.judgeExpiry(ctx, a, r.cfg.Now())
	if v.Expired {
		r.reject(ctx, a.ID, true, alert.ReasonExpired, errors.New(v.Why), seq)
		if first {
			// Remembered, so that the same copy delivered again is not
			// reported again.
			r.record(ctx, sqlite.SeenAlert{ID: a.ID, StreamSeq: seq, ReceivedAt: recv, Expires: a.Expires, State: "expired", Envelope: data})
		}
		return nil
	}
	if seen {
		r.reject(ctx, a.ID, true, alert.ReasonReplay, fmt.Errorf("accepted before (stream sequence %d, this is %d)", seenSeq, seq), seq)
		return nil
	}
	return r.accept(ctx, a, data, seq, recv, v.Deadline)
}

// claimedID is the id an unverified payload claims, for the report only
// (it may be forged); "" if there is none.
func claimedID(payload []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if len(payload) == 0 || len(payload) > alert.MaxPayload || json.Unmarshal(payload, &v) != nil || !alert.ValidID(v.ID) {
		return ""
	}
	return v.ID
}

// maxRejectReports bounds the rejections reported (and logged) a minute:
// a flood of forged messages must not wear out the SD card or the link.
// Every one is still counted.
const maxRejectReports = 20

func (r *Receiver) reject(ctx context.Context, id string, verified bool, reason string, err error, seq uint64) {
	if r.cfg.Rejected != nil {
		r.cfg.Rejected.WithLabelValues(reason).Inc()
	}
	now := time.Now()
	r.mu.Lock()
	r.rejected++
	if now.Sub(r.rejWindow) >= time.Minute {
		if r.rejSuppressed > 0 {
			r.log.Warn("alert rejections not reported (too many a minute); counted in loa_alerts_rejected_total", "suppressed", r.rejSuppressed)
		}
		r.rejWindow, r.rejInWindow, r.rejSuppressed = now, 0, 0
	}
	r.rejInWindow++
	quiet := r.rejInWindow > maxRejectReports
	if quiet {
		r.rejSuppressed++
	}
	r.mu.Unlock()
	if quiet {
		return
	}
	r.log.Warn("alert rejected", "alert", id, "verified", verified, "reason", reason, "err", err, "seq", seq)
	r.report(ctx, alert.Report{Alert: id, Verified: verified, State: alert.Rejected, Reason: reason})
}

// accept takes a verified alert: it is played at once if its media are
// here (before anything is written: an emergency must not wait for the
// SD card), recorded, acknowledged and reported; media missing are
// fetched first, in the background.
func (r *Receiver) accept(ctx context.Context, a *alert.Alert, data []byte, seq uint64, recv, expires time.Time) error {
	r.log.Info("alert received", "alert", a.ID, "msg_type", a.MsgType, "status", a.Status, "priority", a.Priority,
		"headline", a.Headline, "expires", a.Expires.Format(time.RFC3339), "seq", seq)
	act := &activeAlert{a: a, expires: expires}
	for _, ref := range a.References {
		r.stop(ctx, ref, a.ID)
	}
	state := alert.Received
	var skip, fail string
	switch {
	case a.MsgType == alert.MsgCancel:
		state = alert.Finished
	case a.Status != alert.StatusActual && !r.cfg.PlayTests:
		state, skip = alert.Skipped, fmt.Sprintf("status %s: not put on air (alerts.play_tests is off)", a.Status)
	case a.Content.Stream != "":
		state, fail = alert.Failed, "stream alerts not supported yet"
	}
	if state == alert.Received {
		r.mu.Lock()
		r.active[a.ID] = act
		r.mu.Unlock()
		if r.mediaReady(a) {
			r.play(act, recv)
		}
	}
	r.record(ctx, sqlite.SeenAlert{ID: a.ID, StreamSeq: seq, ReceivedAt: recv, Expires: expires, State: string(state), Envelope: data})
	r.setLast(a, string(state))
	r.report(ctx, alert.Report{Alert: a.ID, Verified: true, State: alert.Received, At: recv})
	switch {
	case skip != "":
		r.log.Info("alert not played", "alert", a.ID, "reason", skip)
		r.report(ctx, alert.Report{Alert: a.ID, Verified: true, State: alert.Skipped, Reason: skip})
	case fail != "":
		r.log.Error("alert cannot play", "alert", a.ID, "reason", fail)
		r.report(ctx, alert.Report{Alert: a.ID, Verified: true, State: alert.Failed, Reason: fail})
	case a.MsgType == alert.MsgCancel:
		r.report(ctx, alert.Report{Alert: a.ID, Verified: true, State: alert.Finished})
	case !act.handed:
		go r.fetchAndPlay(context.WithoutCancel(ctx), act, recv)
	}
	return nil
}

// record writes an alert to the replay guard on disk.
func (r *Receiver) record(ctx context.Context, s sqlite.SeenAlert) {
	r.storeSeen(ctx, s)
}

// stop cancels alert id (a Cancel or Update named it).
func (r *Receiver) stop(ctx context.Context, id, by string) {
	r.mu.Lock()
	act, ok := r.active[id]
	if ok {
		act.cancelled = true
	}
	r.mu.Unlock()
	if !ok {
		r.log.Info("cancel for an alert not playing here", "alert", id, "by", by)
		return
	}
	r.log.Info("alert cancelled", "alert", id, "by", by)
	if act.handed {
		// The player reports "cancelled" if it was waiting or playing.
		r.cfg.Player.CancelAlert(id)
		return
	}
	r.end(ctx, id, alert.Cancelled, "", r.cfg.Now())
}

func (r *Receiver) mediaReady(a *alert.Alert) bool {
	if a.Chime != nil && !r.cfg.Media.HasMedia(a.Chime.SHA256) {
		return false
	}
	return a.Content.Media != nil && r.cfg.Media.HasMedia(a.Content.Media.SHA256)
}

// fetchAndPlay fetches an alert's missing media (retrying until it
// expires) and plays it.
func (r *Receiver) fetchAndPlay(ctx context.Context, act *activeAlert, recv time.Time) {
	a := act.a
	began := time.Now()
	var list []alert.Media
	if a.Chime != nil {
		list = append(list, *a.Chime)
	}
	list = append(list, *a.Content.Media)
	wait := time.Second
	for _, m := range list {
		for !r.cfg.Media.HasMedia(m.SHA256) {
			err := r.cfg.Media.FetchMedia(ctx, m)
			if err == nil {
				break
			}
			r.mu.Lock()
			cancelled := act.cancelled
			r.mu.Unlock()
			if cancelled {
				return
			}
			if !r.cfg.Now().Add(wait).Before(act.expires) {
				r.log.Error("alert media could not be fetched before it expired", "alert", a.ID, "media", m.SHA256, "err", err)
				r.end(ctx, a.ID, alert.Failed, "media not fetched before expiry: "+err.Error(), r.cfg.Now())
				return
			}
			r.log.Warn("alert media fetch failed; retrying", "alert", a.ID, "media", m.SHA256, "err", err, "in", wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
			wait = min(wait*2, 30*time.Second)
		}
	}
	fetchMS := time.Since(began).Milliseconds()
	r.log.Info("alert media fetched", "alert", a.ID, "ms", fetchMS)
	r.mu.Lock()
	act.fetchMS = fetchMS
	cancelled := act.cancelled
	r.mu.Unlock()
	if cancelled {
		return
	}
	if !r.cfg.Now().Before(act.expires) {
		r.end(ctx, a.ID, alert.Failed, "expired while its media were fetched", r.cfg.Now())
		return
	}
	r.play(act, recv)
}

// play hands the alert to the player. It plays at the alert's own volume
// (a % of the station's master volume): a program's volume does not apply.
func (r *Receiver) play(act *activeAlert, recv time.Time) {
	a := act.a
	pa := player.Alert{ID: a.ID, Title: alertTitle(a), Priority: a.Priority.Level(), Content: a.Content.Media.SHA256,
		Repeat: a.Repeat, Gap: a.Gap(), Volume: a.Volume, At: recv, Expires: act.expires,
		Report: func(o player.AlertOutcome) {
			select {
			case r.events <- o:
			default:
				r.log.Error("alert report dropped: receiver behind", "alert", o.ID, "state", o.State)
			}
		}}
	if a.Chime != nil {
		pa.Chime = a.Chime.SHA256
	}
	r.mu.Lock()
	act.handed = true
	r.mu.Unlock()
	r.cfg.Player.PlayAlert(pa)
	if r.cfg.Kick != nil {
		r.cfg.Kick()
	}
}

func alertTitle(a *alert.Alert) string {
	for _, s := range []string{a.Headline, a.Event} {
		if s != "" {
			return s
		}
	}
	return "Cảnh báo / alert"
}

// playerEvents turns the player's reports into receipts.
func (r *Receiver) playerEvents(ctx context.Context) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-r.events:
			r.playerEvent(ctx, ev)
		case <-tick.C:
			r.watchOnAir(ctx)
		}
	}
}

func (r *Receiver) playerEvent(ctx context.Context, o player.AlertOutcome) {
	at := o.At
	if at.IsZero() {
		at = r.cfg.Now()
	}
	switch o.State {
	case player.AlertStarted:
		r.started(ctx, o.ID, at)
	case player.AlertFinished:
		r.end(ctx, o.ID, alert.Finished, "", at)
	case player.AlertCancelled:
		r.end(ctx, o.ID, alert.Cancelled, "", at)
	default:
		reason := "failed"
		if o.Err != nil {
			reason = o.Err.Error()
		}
		r.end(ctx, o.ID, alert.Failed, reason, at)
	}
}

// watchOnAir reports "started" when the player shows the alert on air.
func (r *Receiver) watchOnAir(ctx context.Context) {
	if r.cfg.OnAir == nil {
		return
	}
	if id, start, ok := r.cfg.OnAir(); ok {
		r.started(ctx, id, start)
	}
}

func (r *Receiver) started(ctx context.Context, id string, at time.Time) {
	r.mu.Lock()
	act, ok := r.active[id]
	first := ok && !act.started
	var fetchMS int64
	if first {
		act.started = true
		fetchMS = act.fetchMS
	}
	r.mu.Unlock()
	if first {
		r.reportStarted(ctx, id, at, fetchMS)
	}
}

func (r *Receiver) reportStarted(ctx context.Context, id string, at time.Time, fetchMS int64) {
	r.log.Info("alert on air", "alert", id, "at", at.Format("15:04:05.000"))
	r.storeState(ctx, id, string(alert.Started))
	r.setLastState(id, string(alert.Started))
	r.report(ctx, alert.Report{Alert: id, Verified: true, State: alert.Started, At: at, FetchMS: fetchMS})
}

// end records how an accepted alert ended.
func (r *Receiver) end(ctx context.Context, id string, state alert.State, reason string, at time.Time) {
	r.mu.Lock()
	act, ok := r.active[id]
	delete(r.active, id)
	// Finished without being seen on air (it was short): started too.
	needStart := ok && state == alert.Finished && !act.started
	var fetchMS int64
	if ok {
		act.started = true
		fetchMS = act.fetchMS
	}
	r.mu.Unlock()
	if !ok {
		return
	}
	if needStart {
		r.reportStarted(ctx, id, at, fetchMS)
	}
	r.log.Info("alert ended", "alert", id, "state", state, "reason", reason)
	r.storeState(ctx, id, string(state))
	r.setLastState(id, string(state))
	r.report(ctx, alert.Report{Alert: id, Verified: true, State: state, Reason: reason, At: at, FetchMS: fetchMS})
}

// report queues a receipt for the city (in the database, so that a
// restart does not lose it) and wakes the sender.
func (r *Receiver) report(ctx context.Context, rep alert.Report) {
	rep.Ward = r.cfg.Ward
	if rep.At.IsZero() {
		rep.At = r.cfg.Now()
	}
	r.mu.Lock()
	r.reportNo++
	rep.Seq = r.reportNo
	r.mu.Unlock()
	var body []byte
	var err error
	if r.cfg.ReceiptKey != nil {
		body, err = alert.SignReport(r.cfg.ReceiptKey, rep)
	} else {
		body, err = alert.EncodeReport(rep)
	}
	if err != nil {
		r.log.Error("alert receipt not encoded", "alert", rep.Alert, "state", rep.State, "err", err)
		return
	}
	r.queueReport(ctx, rep.Alert, body) // on disk, or held in memory (alert_outbox.go)
	select {
	case r.outbox <- struct{}{}:
	default:
	}
}

func (r *Receiver) setLast(a *alert.Alert, state string) {
	r.mu.Lock()
	r.last = &Summary{ID: a.ID, Priority: string(a.Priority), Headline: a.Headline, State: state, At: r.cfg.Now()}
	r.mu.Unlock()
}

func (r *Receiver) setLastState(id, state string) {
	r.mu.Lock()
	if r.last != nil && r.last.ID == id {
		r.last.State = state
		r.last.At = r.cfg.Now()
	}
	r.mu.Unlock()
}

// resume plays again the alerts accepted before a restart that had not
// ended and have not expired: an emergency cut by a crash or a power cut
// is heard whole when the station is back.
func (r *Receiver) resume(ctx context.Context) {
	open, err := r.cfg.DB.OpenAlerts(ctx, r.cfg.Now())
	if err != nil {
		r.log.Error("alerts to resume", "err", err)
		return
	}
	for _, s := range open {
		env, err := alert.ReadEnvelope(s.Envelope)
		var a *alert.Alert
		if err == nil {
			a, err = alert.Open(env, r.cfg.PublicKeys...)
		}
		if err != nil {
			r.log.Error("alert not resumed: no longer verifies", "alert", s.ID, "err", err)
			r.cfg.DB.SetSeenAlertState(ctx, s.ID, string(alert.Failed))
			continue
		}
		r.log.Warn("alert resumed after a restart: it plays again from its start", "alert", a.ID, "was", s.State)
		act := &activeAlert{a: a, expires: s.Expires}
		r.mu.Lock()
		r.active[a.ID] = act
		r.mu.Unlock()
		r.setLast(a, s.State)
		now := r.cfg.Now()
		if r.mediaReady(a) {
			r.play(act, now)
		} else {
			go r.fetchAndPlay(context.WithoutCancel(ctx), act, now)
		}
	}
}
