package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/alert"
	"loa/command"
	"loa/natsbus"
	"loa/player"
)

// The city's signed commands (docs/commands.md): read from the ward's own
// consumer on COMMANDS, checked by command.Guard (signature under a key of
// city.public_key, addressee, expiry, replay), executed, and answered with
// a signed ack on loa.cmdack.<ward>, refusals included.

// Files in the data directory.
const (
	commandSeenFile   = "commands-seen.json"
	commandVolumeFile = "command-volume.json"
)

// commandSeen is the ward's record of the commands it accepted, on disk
// (a restart must not make a replay acceptable).
type commandSeen struct {
	path string
	now  func() time.Time
	mu   sync.Mutex
	ids  map[string]time.Time // id → expires
}

func loadCommandSeen(dir string, now func() time.Time) *commandSeen {
	s := &commandSeen{path: filepath.Join(dir, commandSeenFile), now: now, ids: map[string]time.Time{}}
	if b, err := os.ReadFile(s.path); err == nil {
		json.Unmarshal(b, &s.ids)
	}
	return s
}

func (s *commandSeen) Seen(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}

func (s *commandSeen) Remember(id string, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// An expired command is refused as expired: its id need not be kept.
	cut := s.now().Add(-time.Hour)
	for k, t := range s.ids {
		if t.Before(cut) {
			delete(s.ids, k)
		}
	}
	s.ids[id] = expires
	b, err := json.Marshal(s.ids)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, b)
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// commandVolume is the master volume the city set (dB), kept across
// restarts on top of audio.master_volume.
type commandVolume struct {
	DB float64 `json:"db"`
}

// masterGain is the engine's master gain: audio.master_volume, with the
// volume the city last set.
func (d *Daemon) masterGain() float64 {
	g := player.VolumeGain(d.Cfg.Audio.MasterVolume)
	if db, ok := d.commandVolumeDB(); ok {
		g *= math.Pow(10, db/20)
	}
	return g
}

func (d *Daemon) commandVolumeDB() (float64, bool) {
	b, err := os.ReadFile(filepath.Join(d.Cfg.Data, commandVolumeFile))
	if err != nil {
		return 0, false
	}
	var v commandVolume
	if json.Unmarshal(b, &v) != nil || v.DB < command.MinVolumeDB || v.DB > command.MaxVolumeDB {
		return 0, false
	}
	return v.DB, true
}

// commandRx runs the ward's side of commands.
type commandRx struct {
	d     *Daemon
	guard *command.Guard
	acks  chan ackItem
}

// ackItem is an ack to publish; sent, if set, is closed once JetStream
// took it.
type ackItem struct {
	ack  command.Ack
	sent chan struct{}
}

// errAckLater: the command goes on after execute returns (a test tone)
// and acks when it ends.
var errAckLater = errors.New("acked when it ends")

// startCommands reads the ward's commands on the alert link (d.alertLink).
func (d *Daemon) startCommands(ctx context.Context, keys []ed25519.PublicKey) {
	if d.alertLink == nil {
		return
	}
	js, err := jetstream.New(d.alertLink.Conn)
	if err != nil {
		d.Log.Error("commands: cannot start", "err", err)
		return
	}
	rx := &commandRx{d: d, acks: make(chan ackItem, 256),
		guard: &command.Guard{Ward: d.Cfg.Ward, Keys: keys, Seen: loadCommandSeen(d.Cfg.Data, d.wall)}}
	log := d.Log.With("component", "commands")
	go rx.sendAcks(ctx, js)
	go natsbus.ConsumeLoop{
		Name: "command consumer",
		Consumer: func(ctx context.Context) (jetstream.Consumer, error) {
			return js.Consumer(ctx, natsbus.StreamCommands, natsbus.CommandConsumer(d.Cfg.Ward))
		},
		Handle: func(m jetstream.Msg) {
			after, err := rx.handle(ctx, m.Data())
			if err != nil {
				log.Error("command not handled; it will come again", "err", err)
				m.NakWithDelay(2 * time.Second)
				return
			}
			if after == nil {
				m.Ack()
				return
			}
			// A restart: JetStream must know the message is done before
			// the process goes (a redelivery would be refused as a
			// replay anyway: the id is in commands-seen.json already).
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := m.DoubleAck(actx); err != nil {
				log.Warn("command message ack not confirmed", "err", err)
			}
			cancel()
			after()
		},
		Pull: []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(8), jetstream.PullExpiry(60 * time.Second), jetstream.PullHeartbeat(10 * time.Second)},
		Log:  log,
	}.Run(ctx)
}

// handle checks and executes one command; an error means it was not
// decided (the replay record could not be written) and must come again.
// after, if set, is to run once the message is acked (the restart).
func (rx *commandRx) handle(ctx context.Context, data []byte) (after func(), err error) {
	d := rx.d
	now := d.wall()
	c, err := rx.guard.Accept(data, now)
	var ref *command.Refusal
	switch {
	case errors.As(err, &ref):
		d.Log.Warn("command refused", "command", ref.Ack.Command, "reason", ref.Ack.Reason, "err", ref.Err)
		rx.ack(ref.Ack)
		return nil, nil
	case err != nil:
		return nil, err
	}
	ack := command.Ack{Command: c.ID, Verified: true, Ward: d.Cfg.Ward, State: command.Done, Kind: c.Kind}
	err = rx.execute(ctx, c, &ack)
	switch {
	case errors.Is(err, errAckLater):
		d.Log.Info("command started", "command", c.ID, "kind", c.Kind, "sender", c.Sender)
		return nil, nil
	case err != nil:
		ack.State, ack.Reason = command.Failed, err.Error()
		d.Log.Error("command failed", "command", c.ID, "kind", c.Kind, "err", err)
	default:
		d.Log.Info("command executed", "command", c.ID, "kind", c.Kind, "sender", c.Sender)
	}
	ack.At = d.wall()
	if c.Kind != command.Restart || ack.State != command.Done {
		rx.ack(ack)
		return nil, nil
	}
	// Restart: the ack goes out first ("done": the agent is going down to
	// come back), then the daemon stops for a fresh process.
	sent := make(chan struct{})
	rx.ackThen(ack, sent)
	return func() {
		select {
		case <-sent:
		case <-time.After(10 * time.Second):
			d.Log.Warn("restart: the ack was not taken in 10 s; restarting anyway")
		case <-ctx.Done():
			return
		}
		d.requestRestart("command " + c.ID)
	}, nil
}

func (rx *commandRx) execute(ctx context.Context, c *command.Command, ack *command.Ack) error {
	d := rx.d
	now := d.wall()
	switch c.Kind {
	case command.StopAll:
		n := 0
		if d.alerts != nil {
			n = d.alerts.CancelAll(ctx, "command "+c.ID)
		}
		d.stopCityLive()
		d.pl.StopLive("")
		d.pl.StopGenerated("")
		if c.Args.MuteSeconds > 0 {
			d.pl.MutePrograms(now.Add(time.Duration(c.Args.MuteSeconds) * time.Second))
		}
		d.Log.Warn("Dừng tất cả / stop all", "command", c.ID, "alerts_cancelled", n, "mute_seconds", c.Args.MuteSeconds)
	case command.Volume:
		db := *c.Args.DB
		b, _ := json.Marshal(commandVolume{DB: db})
		if err := writeFileAtomic(filepath.Join(d.Cfg.Data, commandVolumeFile), b); err != nil {
			return fmt.Errorf("volume %g dB: keeping it: %w", db, err)
		}
		if err := d.eng.SetMaster(d.masterGain()); err != nil {
			return fmt.Errorf("volume %g dB: %w", db, err)
		}
		ack.VolumeDB = &db
	case command.Mute:
		d.pl.MutePrograms(now.Add(time.Duration(c.Args.MuteSeconds) * time.Second))
	case command.Unmute:
		d.pl.MutePrograms(time.Time{})
	case command.SyncNow:
		if d.sync == nil {
			return errors.New("no city sync configured (city.url)")
		}
		d.sync.SyncNow()
	case command.TestTone:
		rx.testTone(c)
		d.kickPlayer()
		return errAckLater
	case command.Amplifier:
		on := *c.Args.On
		d.amp.Force(on, now.Add(time.Duration(c.Args.Seconds)*time.Second))
		state := "off"
		if on {
			state = "on"
		}
		d.Log.Warn("amplifier forced by the city", "command", c.ID, "state", state, "seconds", c.Args.Seconds)
	case command.Restart:
		// Acked, then restarted: handle.
	case command.Diagnostics:
		n := int(c.Args.LogLines)
		if n == 0 {
			n = command.DefaultLogLines
		}
		b, err := d.collectDiagnostics(ctx, n)
		if err != nil {
			return err
		}
		ack.Diagnostics = b
	default:
		return fmt.Errorf("kind %q: not supported by this agent", c.Kind)
	}
	d.kickPlayer()
	return nil
}

// stopCityLive forgets the city's live announcement on air, so that its
// repeated starts do not bring it back after a stop_all.
func (d *Daemon) stopCityLive() {
	cl := d.cityLive
	if cl == nil {
		return
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.onAir != "" {
		cl.stopped[cl.onAir] = d.wall().Add(alert.MaxLiveLifetime)
		cl.onAir = ""
	}
}

func (d *Daemon) kickPlayer() {
	if d.alertKick == nil {
		return
	}
	select {
	case d.alertKick <- struct{}{}:
	default:
	}
}

func (rx *commandRx) ack(a command.Ack) { rx.ackThen(a, nil) }

// ackThen queues an ack; sent, if set, is closed once JetStream took it.
func (rx *commandRx) ackThen(a command.Ack, sent chan struct{}) {
	select {
	case rx.acks <- ackItem{ack: a, sent: sent}:
	default:
		rx.d.Log.Error("command ack dropped: too many waiting", "command", a.Command)
	}
}

// testTone plays the test tone a command asks and acks it when it ends:
// done with the level the output meter measured, or failed with why (an
// alert or live announcement on air or arriving, no measure).
func (rx *commandRx) testTone(c *command.Command) {
	d := rx.d
	level := c.Args.ToneLevel()
	rate := d.eng.Rate()
	frames := c.Args.Seconds * int64(rate)
	d.pl.PlayGenerated(player.Generated{
		ID: c.ID, Kind: "test_tone", Title: "Âm thử 1 kHz / 1 kHz test tone",
		Note:   fmt.Sprintf("%d Hz, %d s, %g dBFS; lệnh của / sent by %s", command.ToneHz, c.Args.Seconds, level, c.Sender),
		Source: player.Tone(rate, command.ToneHz, level, frames), Frames: frames, At: d.wall(),
		Report: func(o player.GeneratedOutcome) {
			ack := command.Ack{Command: c.ID, Verified: true, Ward: d.Cfg.Ward, State: command.Done, Kind: c.Kind, At: d.wall()}
			if o.Measured {
				lv := math.Round(o.LevelDBFS*10) / 10
				ack.LevelDBFS = &lv
			}
			switch {
			case o.Err != nil:
				ack.State, ack.Reason = command.Failed, "test_tone: "+o.Err.Error()
			case !o.Completed:
				ack.State, ack.Reason = command.Failed, "test_tone: bị cắt / cut: "+o.CutBy
			case !o.Measured:
				ack.State, ack.Reason = command.Failed, "test_tone: không đo được mức ra / the output level could not be measured"
			}
			d.Log.Info("test tone over", "command", c.ID, "state", ack.State, "reason", ack.Reason, "level_dbfs", o.LevelDBFS, "measured", o.Measured)
			rx.ack(ack)
		},
	})
}

// sendAcks publishes acks on loa.cmdack.<ward>, each until JetStream
// takes it (its id: ward, command, state, so a retry is not a second).
func (rx *commandRx) sendAcks(ctx context.Context, js jetstream.JetStream) {
	d := rx.d
	subject := natsbus.CommandAck(d.Cfg.Ward)
	for {
		var it ackItem
		select {
		case <-ctx.Done():
			return
		case it = <-rx.acks:
		}
		a := it.ack
		body, err := command.SignAck(d.receiptKey, a)
		if err != nil {
			d.Log.Error("command ack", "err", err)
			continue
		}
		id := fmt.Sprintf("%s/%s/%s/%s/%d", d.Cfg.Ward, a.Command, a.State, a.Reason, a.At.UnixNano())
		for wait := 500 * time.Millisecond; ; wait = min(wait*2, 30*time.Second) {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := js.Publish(pctx, subject, body, jetstream.WithMsgID(id))
			cancel()
			if err == nil && it.sent != nil {
				close(it.sent)
			}
			if err == nil || ctx.Err() != nil {
				break
			}
			d.Log.Debug("command ack not sent yet", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}
