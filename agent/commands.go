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
	acks  chan command.Ack
}

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
	rx := &commandRx{d: d, acks: make(chan command.Ack, 256),
		guard: &command.Guard{Ward: d.Cfg.Ward, Keys: keys, Seen: loadCommandSeen(d.Cfg.Data, d.wall)}}
	log := d.Log.With("component", "commands")
	go rx.sendAcks(ctx, js)
	go natsbus.ConsumeLoop{
		Name: "command consumer",
		Consumer: func(ctx context.Context) (jetstream.Consumer, error) {
			return js.Consumer(ctx, natsbus.StreamCommands, natsbus.CommandConsumer(d.Cfg.Ward))
		},
		Handle: func(m jetstream.Msg) {
			if err := rx.handle(ctx, m.Data()); err != nil {
				log.Error("command not handled; it will come again", "err", err)
				m.NakWithDelay(2 * time.Second)
				return
			}
			m.Ack()
		},
		Pull: []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(8), jetstream.PullExpiry(60 * time.Second), jetstream.PullHeartbeat(10 * time.Second)},
		Log:  log,
	}.Run(ctx)
}

// handle checks and executes one command; an error means it was not
// decided (the replay record could not be written) and must come again.
func (rx *commandRx) handle(ctx context.Context, data []byte) error {
	d := rx.d
	now := d.wall()
	c, err := rx.guard.Accept(data, now)
	var ref *command.Refusal
	switch {
	case errors.As(err, &ref):
		d.Log.Warn("command refused", "command", ref.Ack.Command, "reason", ref.Ack.Reason, "err", ref.Err)
		rx.ack(ref.Ack)
		return nil
	case err != nil:
		return err
	}
	ack := command.Ack{Command: c.ID, Verified: true, Ward: d.Cfg.Ward, State: command.Done, Kind: c.Kind}
	if err := rx.execute(ctx, c, &ack); err != nil {
		ack.State, ack.Reason = command.Failed, err.Error()
		d.Log.Error("command failed", "command", c.ID, "kind", c.Kind, "err", err)
	} else {
		d.Log.Info("command executed", "command", c.ID, "kind", c.Kind, "sender", c.Sender)
	}
	ack.At = d.wall()
	rx.ack(ack)
	return nil
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
		return errors.New("test_tone: chưa hỗ trợ / not supported by this agent yet")
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

func (rx *commandRx) ack(a command.Ack) {
	select {
	case rx.acks <- a:
	default:
		rx.d.Log.Error("command ack dropped: too many waiting", "command", a.Command)
	}
}

// sendAcks publishes acks on loa.cmdack.<ward>, each until JetStream
// takes it (its id: ward, command, state, so a retry is not a second).
func (rx *commandRx) sendAcks(ctx context.Context, js jetstream.JetStream) {
	d := rx.d
	subject := natsbus.CommandAck(d.Cfg.Ward)
	for {
		var a command.Ack
		select {
		case <-ctx.Done():
			return
		case a = <-rx.acks:
		}
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
