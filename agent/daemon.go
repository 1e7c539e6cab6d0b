package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"crypto/ed25519"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"loa/agent/alertrx"
	"loa/audio"
	"loa/audio/soundcard"
	"loa/command"
	"loa/internal/backoff"
	"loa/mediastore"
	"loa/natsbus"
	"loa/player"
	"loa/playlist"
	"loa/schedule"
	"loa/signing"
	"loa/sqlite"
)

// Daemon is `loa-agent run`: the ward station that plays the day on time,
// unattended, for months.
type Daemon struct {
	Cfg Config
	Log *slog.Logger
	Now func() time.Time
	// Clock reports whether the wall clock can be trusted (default: from
	// Cfg.Clock).
	Clock func() ClockState
	// OpenOutput opens the audio output on the daemon's clock (default:
	// from Cfg.Audio.Output).
	OpenOutput func(now func() time.Time) (audio.Output, error)
	// ProbeOutput, when the output failed to open with a
	// *soundcard.DeviceError, says whether it would open now (default:
	// soundcard.Probe with Cfg.Audio).
	ProbeOutput func() error
	// Ready, if set, receives the HTTP address once the daemon serves.
	Ready func(addr string)
	// FleetTransport, if set, carries heartbeats and the as-run log to
	// the city (heartbeat.go).
	FleetTransport FleetTransport

	st   *Station
	sync *playlist.Syncer
	// offset is added to Now when the city is the reference clock (no
	// NTP): see cityClock.
	offset   atomic.Int64
	cityTime func(ClockState) ClockState
	// cityKeys are the city keys trusted (city.public_key).
	cityKeys []ed25519.PublicKey
	eng      *audio.Engine
	out      audio.Output
	pl       *player.Player
	amp      *Amplifier
	m        *metrics
	started  time.Time
	records  chan player.AsRun
	fleet    *reporter
	liveCtx  context.Context
	// controlToken is the bearer token of control requests ("" = no
	// control: the token file could not be read or made).
	controlToken string
	refusals     refusalLog
	// Sound card suspension while idle (owned by the loop).
	idleSince time.Time
	suspended bool
	// alerts takes the city's alerts (city.nats); alertKick asks the loop
	// to step now.
	alerts    *alertrx.Receiver
	alertKick chan struct{}
	// restartReq asks the loop to stop with ErrRestart (requestRestart).
	restartReq chan struct{}
	// logs keeps the last log lines (diagnostics.go).
	logs      *logRing
	alertLink *natsbus.Link
	// receiptKey signs the ward's receipts and as-run lines (nil: none
	// could be made; they go unsigned). agent/receiptkey.go.
	receiptKey ed25519.PrivateKey
	cityLive   *cityLive
	// disk guards the data folder's space; asrunHeld keeps the as-run
	// rows a full disk refused (disk.go).
	disk      *diskGuard
	asrunHeld asrunHold

	mu         sync.Mutex
	clock      ClockState
	deviceErr  error
	deviceAt   time.Time
	dbErr      error
	schedErrs  []error
	sched      *schedule.Schedule
	lastLoop   time.Time
	silentRun  time.Duration
	lastSilent time.Time
}

// Run runs the daemon until ctx ends. It returns an error when the station
// cannot work at all (database), or when the audio device failed and the
// hold time passed: systemd then starts a fresh process, the only way to
// open a sound card again with oto.
func (d *Daemon) Run(ctx context.Context) error {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	// The last log lines, kept for the city's diagnostics command.
	d.logs = newLogRing(command.MaxLogLines)
	d.Log = slog.New(&ringHandler{inner: d.Log.Handler(), ring: d.logs})
	if d.Clock == nil {
		d.Clock = clockCheck(d.Cfg.Clock)
	}
	d.started = time.Now()
	d.m = newMetrics()
	cfg := d.Cfg

	st, err := OpenStation(ctx, cfg.Data, cfg.Audio.Rate, d.wall)
	if err != nil {
		return err
	}
	d.st = st
	defer st.Close()
	st.Store.CleanTemp(playlist.IsPartial)
	d.disk = newDiskGuard(cfg.Data, cfg.Storage, d.Log.With("component", "disk"))
	st.DB.OnFull = d.disk.onFull

	d.eng = NewEngine(cfg.Audio.Rate, cfg.Audio.CeilingDBTP, cfg.Silence.ThresholdDBFS)
	d.eng.SetMaster(d.masterGain())
	d.amp = NewAmplifier(cfg.Amplifier, d.Log)

	out, err := d.openOutput()
	var noCard *soundcard.DeviceError
	waitCard := errors.As(err, &noCard)
	if err != nil {
		d.deviceFailed(err)
		// Keep serving health and status with a null output: until the
		// card is there (it was never opened), or until the hold time
		// runs out.
		out = audio.NewPaced("null (device failed)", cfg.Audio.Rate, cfg.Audio.Buffer.D(), d.wall, nil)
	}
	d.out = out
	d.Log.Info("audio output", "output", out.Name(), "rate", cfg.Audio.Rate, "latency", out.Latency())

	pcfg := player.Config{Rate: cfg.Audio.Rate, TargetLUFS: cfg.Audio.TargetLUFS, MaxWait: cfg.Alerts.MaxWait.D(),
		OnRelayFailure: func() { d.m.relayFailures.Inc() }}
	d.pl = player.New(pcfg, d.eng, player.OutputTime{Out: out, Rate: cfg.Audio.Rate}, st, openPCM, recorderFunc(d.record), d.Log)
	d.records = make(chan player.AsRun, 256)
	d.restartReq = make(chan struct{}, 1)
	// The schedule and the clock's state before anyone can ask or report.
	d.reloadSchedule(ctx)
	stamp, _ := st.DB.ProgramsStamp(ctx)
	d.checkClock()
	// ctx as it is when a relay opens: the daemon's group's, below.
	d.pl.SetRelayOpener(func(url string) player.RelaySource { return d.openRelay(ctx, url) })
	defer d.pl.Close()

	// The daemon's parts live as one group: each runs until ctx ends, and
	// Run ends them all (cancel, then wait for every one) on whichever
	// path it leaves by, a failed start or the main loop's end.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	stopAll := func() {
		cancel()
		g.Wait()
	}
	outErr := make(chan error, 1)
	g.Go(func() error {
		// The output's failure is the main loop's to judge (it may wait
		// for the card to come back), not a reason to stop the rest.
		outErr <- out.Run(ctx, d.eng)
		return nil
	})
	g.Go(func() error { d.writeAsRun(ctx); return nil })
	cardBack := make(chan struct{})
	if waitCard {
		g.Go(func() error { d.waitForCard(ctx, cardBack); return nil })
	}

	if cfg.City.URL != "" {
		sy, err := d.newSyncer()
		if err != nil {
			stopAll()
			return err
		}
		d.sync = sy
		d.m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "loa_sync_downloaded_bytes_total",
			Help: "Media bytes received from the city since start (a file fetched twice counts twice)."},
			func() float64 { return float64(sy.Status().Downloaded) }))
		d.cityTime = d.cityTimeSource(ctx, d.cityKeys)
		g.Go(func() error { sy.Run(ctx); return nil })
	}
	// After d.sync is set: it reads it.
	g.Go(func() error { d.watchDisk(ctx); return nil })
	if err := d.startAlerts(ctx, g); err != nil {
		stopAll()
		return err
	}

	if d.FleetTransport == nil && d.alertLink != nil {
		// Heartbeats and the as-run log share the alerts' link to the
		// city's NATS (one connection, the ward's own inbox).
		if tr, err := NewNATSFleetTransport(d.alertLink.Conn, d.Cfg.Ward); err == nil {
			d.FleetTransport = tr
		} else {
			d.Log.Error("fleet reports over NATS", "err", err)
		}
	}
	d.startFleet(ctx, g)

	g.Go(func() error { d.pushToTalk(ctx); return nil })
	d.liveCtx = ctx

	srv, ln, err := d.listen()
	if err != nil {
		stopAll()
		return err
	}
	go srv.Serve(ln)
	defer srv.Close()
	defer d.serveControl()()
	if d.Ready != nil {
		d.Ready(ln.Addr().String())
	}
	sdNotify("READY=1\nSTATUS=on air")

	err = d.loop(ctx, stamp, outErr, waitCard, cardBack)
	// What is on air is logged as it stands: the broadcast log must say
	// where playback stopped.
	d.pl.Flush(d.wall(), "agent stopped")
	stopAll()
	d.drainAsRun()
	if n := d.asrunHeld.len(); n > 0 {
		d.Log.Error("agent stopping with as-run rows the disk never took: lost", "rows", n)
	}
	sdNotify("STOPPING=1")
	return err
}

// cityTimeSource returns the clock check used when the kernel has no NTP
// sync: the offset to the city's signed clock, measured in the background
// (every 15 s until the first success, then every clock_poll, every
// minute while a problem stands), applied by a cityTimeKeeper.
func (d *Daemon) cityTimeSource(ctx context.Context, keys []ed25519.PublicKey) func(ClockState) ClockState {
	cc := cityClock{url: d.Cfg.City.URL, http: d.cityHTTP(5 * time.Second), now: d.Now, keys: keys}
	k := &cityTimeKeeper{maxStep: d.Cfg.ClockMaxStep.D(), every: d.Cfg.ClockPoll.D(), log: d.Log.With("component", "clock"),
		refused: func(reason string) { d.m.clockRefused.WithLabelValues(reason).Inc() }}
	var mu sync.Mutex
	var tried time.Time
	busy := false
	return func(kernel ClockState) ClockState {
		mu.Lock()
		if !busy && (tried.IsZero() || time.Since(tried) >= k.due()) {
			busy, tried = true, time.Now()
			go func() {
				off, rtt, err := cc.measure(ctx)
				if ctx.Err() == nil {
					if o, changed := k.apply(cityTimeSample{offset: off, rtt: rtt, err: err, wall: d.Now(), mono: time.Since(d.started)}); changed {
						d.offset.Store(int64(o))
					}
				}
				mu.Lock()
				busy = false
				mu.Unlock()
			}()
		}
		mu.Unlock()
		return k.state(kernel, time.Since(d.started))
	}
}

// wall is the station's clock: the system clock, or the city's when the
// city is the reference (no NTP on this machine).
func (d *Daemon) wall() time.Time { return d.Now().Add(time.Duration(d.offset.Load())) }

type recorderFunc func(player.AsRun)

func (f recorderFunc) Record(e player.AsRun) { f(e) }

func (d *Daemon) openOutput() (audio.Output, error) {
	if d.OpenOutput != nil {
		return d.OpenOutput(d.wall)
	}
	return OpenOutput(d.Cfg.Audio, d.wall)
}

// newSyncer sets up the city sync from the configuration.
func (d *Daemon) newSyncer() (*playlist.Syncer, error) {
	c := d.Cfg.City
	if c.Token == "" || c.PublicKey == "" {
		return nil, inputErr(fmt.Errorf("city.url is set: city.token and city.public_key are needed too (loa-city ward add, loa-city key)"))
	}
	var keys []ed25519.PublicKey
	for _, k := range strings.FieldsFunc(c.PublicKey, func(r rune) bool { return r == ',' || r == ' ' }) {
		pub, err := signing.ParsePublicKey(k)
		if err != nil {
			return nil, inputErr(fmt.Errorf("city.public_key: %v", err))
		}
		keys = append(keys, pub)
	}
	d.cityKeys = keys
	return playlist.NewSyncer(playlist.Config{
		CityURL: c.URL, Token: c.Token, PublicKeys: keys, Ward: d.Cfg.Ward, Interval: c.Poll.D(), MaxBackoff: c.MaxBackoff.D(),
		HTTP: d.cityHTTP(0),
		Now:  d.wall, Log: d.Log.With("component", "sync"), Space: d.disk.mediaSpace,
	}, cityStation{st: d.st}), nil
}

// OpenOutput opens the output a configuration names: the sound card
// (alsa, auto), a WAV file written in real time (wav:PATH) or nothing
// (null).
func OpenOutput(a AudioConfig, now func() time.Time) (audio.Output, error) {
	switch {
	case a.Output == "null":
		return audio.NewPaced("null", a.Rate, a.Buffer.D(), now, nil), nil
	case len(a.Output) > 4 && a.Output[:4] == "wav:":
		path := string(a.Output[4:])
		w, err := audio.CreateWAV(path, a.Rate, a.Channels)
		if err != nil {
			return nil, err
		}
		var n int
		return audio.NewPaced("wav:"+path, a.Rate, a.Buffer.D(), now, func(f [][2]float64) error {
			if err := w.Write(f); err != nil {
				return err
			}
			// Keep the header current about once a second, so the file can
			// be played while it grows.
			if n++; n%50 == 0 {
				return w.Flush()
			}
			return nil
		}), nil
	case a.Output == "alsa" || a.Output == "auto":
		if a.Card != "" {
			os.Setenv("ALSA_CARD", a.Card)
		}
		card, err := soundcard.Open(a.Rate, a.Channels, a.Buffer.D(), now)
		if err != nil {
			return nil, err
		}
		card.SetLatencyAdjust(a.LatencyExtra.D())
		return card, nil
	}
	return nil, fmt.Errorf("audio.output %q: want auto, alsa, wav:PATH or null", a.Output)
}

func (d *Daemon) deviceFailed(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.deviceErr != nil {
		return
	}
	d.deviceErr = err
	d.deviceAt = time.Now()
	d.m.deviceErrors.Inc()
	var noCard *soundcard.DeviceError
	if errors.As(err, &noCard) {
		d.Log.Error("audio device not available; the station is silent until it is", "err", err,
			"retry", fmt.Sprintf("in this process, at most every %s", cardRetryMax))
		return
	}
	d.Log.Error("audio device failed; the station is silent", "err", err, "restart_in", d.Cfg.Audio.DeviceHoldTime.D())
}

// ErrRestart stops the daemon for the same program to start again at
// once in a fresh process (cmd/loa-agent re-executes itself): oto opens a
// sound card once per process, and the city's restart command asks for it.
var ErrRestart = errors.New("restart in a fresh process")

// requestRestart asks the main loop to stop with ErrRestart (the city's
// restart command, acked before).
func (d *Daemon) requestRestart(why string) {
	d.Log.Warn("restarting loa-agent", "why", why)
	select {
	case d.restartReq <- struct{}{}:
	default:
	}
}

// How often a sound card that did not open is tried again: every 2 s at
// first, then less and less often, at most cardRetryMax apart. A probe
// writes nothing to the journal.
const (
	cardRetryMin = 2 * time.Second
	cardRetryMax = time.Minute
)

// waitForCard probes the sound card that did not open, pacing the probes
// with backoff, and closes back once it would open. The device error the
// status and heartbeats report stays until then.
func (d *Daemon) waitForCard(ctx context.Context, back chan<- struct{}) {
	probe := d.ProbeOutput
	if probe == nil {
		probe = func() error { return soundcard.Probe(d.Cfg.Audio.Rate, d.Cfg.Audio.Channels) }
	}
	for n := 1; ; n++ {
		if !backoff.Sleep(ctx, backoff.Wait(n, cardRetryMin, cardRetryMax)) {
			return
		}
		err := probe()
		if err == nil {
			close(back)
			return
		}
		d.Log.Debug("audio device still not available", "err", err, "attempt", n)
	}
}

func (d *Daemon) listen() (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", d.Cfg.HTTP.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("http.listen %s: %w", d.Cfg.HTTP.Listen, err)
	}
	srv := &http.Server{Handler: d.routes(), ReadHeaderTimeout: 5 * time.Second}
	return srv, ln, nil
}

// serveControl starts the control listener and returns what stops it. A
// control address or token that does not work is logged, not fatal: the
// station keeps playing its programs and the city's alerts; only local
// control is off.
func (d *Daemon) serveControl() (stop func()) {
	tok, err := loadOrCreateControlToken(d.Cfg.controlTokenFile())
	if err != nil {
		d.Log.Error("local control is off: no control token", "err", err)
	}
	d.controlToken = tok
	srv, ln, err := d.listenControl()
	if err != nil {
		d.Log.Error("local control is off", "err", err)
		return func() {}
	}
	go srv.Serve(ln)
	d.Log.Info("local control", "listen", d.Cfg.controlListen(), "token_file", d.Cfg.controlTokenFile())
	return func() { srv.Close() }
}

const (
	stepEvery     = 100 * time.Millisecond
	reloadEvery   = 500 * time.Millisecond
	watchdogEvery = 10 * time.Second
	// diskEvery: the data folder's space is looked at this often.
	diskEvery = 2 * time.Second
	// heldRetryEvery: rows a full disk refused are tried again this often.
	heldRetryEvery = 2 * time.Second
)

// loop steps the player until ctx ends. waitCard: the sound card did not
// open, and cardBack is closed once it would: the daemon then stops with
// ErrRestart, for a fresh process to open it.
func (d *Daemon) loop(ctx context.Context, stamp string, outErr <-chan error, waitCard bool, cardBack <-chan struct{}) error {
	tick := time.NewTicker(stepEvery)
	defer tick.Stop()
	var jumps jumpDetector
	var lastReload, lastWatchdog, lastPrune, lastClock time.Time
	var holdUntil time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-outErr:
			if err != nil {
				d.deviceFailed(err)
			}
			outErr = nil
		case <-cardBack:
			d.Log.Info("audio device found: restarting loa-agent to open it")
			return ErrRestart
		case <-d.restartReq:
			return ErrRestart
		case <-tick.C:
		case <-d.alertKick:
		}
		mono := time.Now()
		now := d.wall()
		if jump := jumps.observe(now, mono); jump > time.Second || jump < -time.Second {
			d.Log.Warn("wall clock jumped: re-planning the day", "jump", jump.Round(time.Millisecond))
			d.pl.ClockJumped(jump)
		}
		if mono.Sub(lastClock) >= time.Second {
			lastClock = mono
			d.checkClock()
		}
		if mono.Sub(lastReload) >= reloadEvery {
			lastReload = mono
			if s, err := d.st.DB.ProgramsStamp(ctx); err == nil && s != stamp {
				stamp = s
				d.Log.Info("programs changed: switching")
				d.reloadSchedule(ctx)
			}
		}
		d.pl.Step(now)
		d.observe(ctx, now)

		d.mu.Lock()
		d.lastLoop = mono
		devErr, devAt := d.deviceErr, d.deviceAt
		d.mu.Unlock()
		if devErr == nil {
			if err := d.out.Err(); err != nil {
				d.deviceFailed(err)
			}
		} else if holdUntil.IsZero() && !waitCard {
			holdUntil = devAt.Add(d.Cfg.Audio.DeviceHoldTime.D())
		}
		if !holdUntil.IsZero() && mono.After(holdUntil) {
			return fmt.Errorf("audio device failed %s ago: %w", time.Since(devAt).Round(time.Second), devErr)
		}

		if mono.Sub(lastWatchdog) >= watchdogEvery/2 {
			lastWatchdog = mono
			// The watchdog is fed only while the loop runs and the database
			// answers: a wedged daemon gets restarted by systemd.
			err := d.st.DB.PingContext(ctx)
			d.mu.Lock()
			d.dbErr = err
			d.mu.Unlock()
			if err == nil {
				sdNotify("WATCHDOG=1")
			}
		}
		if mono.Sub(lastPrune) >= time.Hour {
			lastPrune = mono
			d.prune(ctx, now)
			if n, err := d.st.CollectGarbage(ctx, now, d.Cfg.City.GCGrace.D(), d.pl.InUse); err != nil {
				d.Log.Error("media clean-up", "err", err)
			} else if n > 0 {
				d.Log.Info("media no longer used removed", "files", n)
			}
		}
	}
}

// checkClock decides whether the clock is trusted: the kernel's NTP state
// (or `clock: trust`), else the city's clock when a city is configured.
func (d *Daemon) checkClock() {
	cs := d.Clock()
	if cs.Trusted {
		d.offset.Store(0)
	} else if d.cityTime != nil {
		cs = d.cityTime(cs)
	}
	d.mu.Lock()
	if cs.Trusted != d.clock.Trusted || d.clock.Source == "" {
		if cs.Trusted {
			d.Log.Info("clock trusted: scheduled playback on", "source", cs.Source)
		} else {
			d.Log.Warn("clock not trusted: scheduled playback waits", "detail", cs.Detail)
		}
	}
	d.clock = cs
	d.mu.Unlock()
	d.pl.SetClockTrusted(cs.Trusted)
	d.m.clockSynced.Set(b2f(cs.Trusted))
}

// observe updates the amplifier, silence detection and metrics after a step.
func (d *Daemon) observe(ctx context.Context, now time.Time) {
	ps := d.pl.Status()
	sounding := d.eng.Sounding() > 0
	var next time.Time
	d.mu.Lock()
	sched := d.sched
	d.mu.Unlock()
	if sched != nil && ps.ClockTrusted {
		if n := sched.Next(now, 1); len(n) > 0 {
			next = n[0].Start
		}
	}
	d.amp.Update(ctx, now, sounding || ps.Scheduled, ps.Alert != nil || ps.AlertsPending > 0, next)
	d.idle(ps, now, next)

	peak := d.eng.PeakDBFS()
	if math.IsInf(peak, -1) {
		peak = -150
	}
	d.m.outputLevel.Set(peak)
	if d.sync != nil {
		if ss := d.sync.Status(); !ss.LastSuccess.IsZero() {
			d.m.syncAge.Set(now.Sub(ss.LastSuccess).Seconds())
		}
	}
	silent := d.eng.SilentFor()
	d.mu.Lock()
	defer d.mu.Unlock()
	onAir := ps.Program != nil || ps.Alert != nil
	if onAir && silent >= d.Cfg.Silence.After.D() {
		if d.silentRun == 0 {
			d.Log.Warn("silence on air: a program is playing but the output is below the threshold",
				"threshold_dbfs", d.Cfg.Silence.ThresholdDBFS, "for", silent.Round(time.Second))
		}
		if !d.lastSilent.IsZero() {
			d.m.silenceSeconds.Add(now.Sub(d.lastSilent).Seconds())
		}
		d.silentRun = silent
		d.lastSilent = now
	} else {
		d.silentRun = 0
		d.lastSilent = time.Time{}
	}
}

// suspender is an output that can stop pulling samples while idle (the
// sound card).
type suspender interface {
	Suspend() error
	Resume() error
}

// idleAfter: an output with nothing to play for this long is suspended;
// wakeAhead: it is resumed this long before the next program.
const (
	idleAfter = 10 * time.Second
	wakeAhead = 15 * time.Second
)

// idle suspends the sound card while the station has nothing to play, so
// that an idle Pi does not spend its CPU mixing silence, and wakes it ahead
// of the next program or at once for an alert or a live voice.
func (d *Daemon) idle(ps player.Status, now, next time.Time) {
	s, ok := d.out.(suspender)
	if !ok {
		return
	}
	want := ps.Busy || ps.Scheduled || (!next.IsZero() && next.Sub(now) <= wakeAhead)
	switch {
	case want:
		d.idleSince = time.Time{}
		if d.suspended {
			if err := s.Resume(); err != nil {
				d.deviceFailed(fmt.Errorf("resume: %w", err))
				return
			}
			d.suspended = false
			d.Log.Debug("sound card resumed")
		}
	case d.suspended:
	case d.idleSince.IsZero():
		d.idleSince = time.Now()
	case time.Since(d.idleSince) >= idleAfter:
		if err := s.Suspend(); err != nil {
			d.Log.Warn("sound card could not be suspended", "err", err)
			return
		}
		d.suspended = true
		d.Log.Debug("sound card suspended: nothing to play")
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (d *Daemon) reloadSchedule(ctx context.Context) {
	sched, errs := d.st.Schedule(ctx)
	for _, err := range errs {
		d.Log.Error("program source not loaded", "err", err)
	}
	if sched == nil {
		// No schedule at all (the database did not answer: the daemon is
		// stopping, say): the one in use stays.
		return
	}
	d.mu.Lock()
	d.sched, d.schedErrs = sched, errs
	d.mu.Unlock()
	d.pl.SetSchedule(sched)
	day := schedule.DateOf(d.wall().In(sched.Location()))
	d.m.occToday.Set(float64(len(sched.Timeline(day))))
}

// record is the player's as-run sink: it must not block the player, so
// entries go to a writer goroutine.
func (d *Daemon) record(e player.AsRun) {
	d.m.items.WithLabelValues(resultLabel(e.Result)).Inc()
	if e.Kind == "program" && !e.Actual.IsZero() && e.Note == "" && e.Actual.Sub(e.Planned) < time.Minute && isFirstPart(e) {
		d.m.startError.Observe(e.Actual.Sub(e.Planned).Seconds())
	}
	d.mu.Lock()
	if d.silentRun > 0 && !e.Actual.IsZero() {
		if e.Note != "" {
			e.Note += "; "
		}
		e.Note += fmt.Sprintf("im lặng bất thường / silent on air %s", d.silentRun.Round(time.Second))
	}
	d.mu.Unlock()
	select {
	case d.records <- e:
	default:
		d.Log.Error("as-run log is behind: entry dropped", "program", e.Program, "item", e.Item)
	}
}

func isFirstPart(e player.AsRun) bool { return e.Planned.Equal(e.Occurrence) }

func (d *Daemon) writeAsRun(ctx context.Context) {
	retry := time.NewTicker(heldRetryEvery)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-d.records:
			d.storeAsRun(e)
		case <-retry.C:
			if d.asrunHeld.len() > 0 {
				if err := d.flushAsRun(); err == nil {
					d.Log.Info("as-run rows held in memory are stored now")
				}
			}
		}
	}
}

func (d *Daemon) drainAsRun() {
	for {
		select {
		case e := <-d.records:
			d.storeAsRun(e)
		default:
			return
		}
	}
}

func (d *Daemon) storeAsRun(e player.AsRun) {
	if mediastore.ValidKey(e.Item) {
		// City programs name media by key: log the name operators know.
		if m, err := d.st.DB.Media(context.Background(), e.Item); err == nil && m.Name != "" && m.Name != e.Item {
			e.Item = m.Name + " (" + e.Item[:8] + ")"
		}
	}
	err := d.putAsRun(sqlite.AsRunEntry{
		Program: e.Program, Source: e.Source, Occurrence: e.Occurrence, Part: e.Part, Item: e.Item, Kind: e.Kind,
		Planned: e.Planned, Actual: e.Actual, End: e.End, Result: e.Result, Missed: e.Missed, Note: e.Note,
	})
	if err != nil {
		d.mu.Lock()
		d.dbErr = err
		d.mu.Unlock()
		d.Log.Error("as-run log write failed: the row is held in memory and retried", "err", err,
			"program", e.Program, "item", e.Item, "held", d.asrunHeld.len())
		return
	}
	d.Log.Info("as-run", "kind", e.Kind, "program", e.Program, "item", e.Item, "result", e.Result,
		"late_ms", lateMS(e))
}

func lateMS(e player.AsRun) int64 {
	if e.Actual.IsZero() {
		return 0
	}
	return e.Actual.Sub(e.Planned).Milliseconds()
}

func (d *Daemon) prune(ctx context.Context, now time.Time) {
	days := d.Cfg.AsRun.RetentionDays
	if days <= 0 {
		return
	}
	cutoff := now.AddDate(0, 0, -days)
	// Entries the city never acknowledged are kept twice as long.
	n, err := d.st.DB.PruneAsRun(ctx, cutoff, now.AddDate(0, 0, -2*days))
	if err != nil {
		d.Log.Error("as-run retention", "err", err)
	} else if n > 0 {
		d.Log.Info("as-run retention: old entries removed", "rows", n)
	}
}

// errNoDaemon is returned by status when nothing answers.
var errNoDaemon = errors.New("no loa-agent daemon answers")
