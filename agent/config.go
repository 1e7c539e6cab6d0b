package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"loa/internal/cmdkit"
)

// Config is the agent's configuration file (YAML). Every key has a default;
// systemd/loa-agent.conf lists them all with a line of explanation.
type Config struct {
	Data  string `yaml:"data"`
	Ward  string `yaml:"ward"`
	Clock string `yaml:"clock"` // auto | trust | city
	// ClockMaxStep bounds a correction of a clock already set from the
	// city: a larger step is refused and reported until several
	// measurements agree (or the agent restarts). See cityTimeKeeper.
	ClockMaxStep Duration `yaml:"clock_max_step"`
	// ClockPoll is how often the city's clock is measured when it is the
	// reference (no NTP, or clock: city).
	ClockPoll Duration `yaml:"clock_poll"`

	Audio     AudioConfig     `yaml:"audio"`
	Amplifier AmplifierConfig `yaml:"amplifier"`
	HTTP      HTTPConfig      `yaml:"http"`
	Log       LogConfig       `yaml:"log"`
	AsRun     AsRunConfig     `yaml:"asrun"`
	Silence   SilenceConfig   `yaml:"silence"`
	City      CityConfig      `yaml:"city"`
	Alerts    AlertsConfig    `yaml:"alerts"`
	Live      LiveConfig      `yaml:"live"`
	Fleet     FleetConfig     `yaml:"fleet"`
	Control   ControlConfig   `yaml:"control"`
	Storage   StorageConfig   `yaml:"storage"`

	path string
}

type AudioConfig struct {
	Output         Name     `yaml:"output"` // auto | alsa | wav:PATH | null
	Card           string   `yaml:"card"`   // ALSA card (sets ALSA_CARD); "" = the system default
	Rate           int      `yaml:"rate"`
	Channels       int      `yaml:"channels"`
	Buffer         Duration `yaml:"buffer"`
	TargetLUFS     float64  `yaml:"target_lufs"`
	MasterVolume   int      `yaml:"master_volume"`
	CeilingDBTP    float64  `yaml:"ceiling_dbtp"`
	LatencyExtra   Duration `yaml:"latency_adjust"`
	DeviceHoldTime Duration `yaml:"device_hold"`
}

type AmplifierConfig struct {
	On       string   `yaml:"on"`
	Off      string   `yaml:"off"`
	PreRoll  Duration `yaml:"pre_roll"`
	OffDelay Duration `yaml:"off_delay"`
}

// HTTPConfig is the read-only address: status page, /healthz, /metrics
// (GET only; state changes go to control.listen).
type HTTPConfig struct {
	Listen string `yaml:"listen"`
}

// LogConfig is the log section (format: text | json; level: debug | info |
// warn | error), the same in every loa program.
type LogConfig = cmdkit.LogConfig

type AsRunConfig struct {
	RetentionDays int `yaml:"retention_days"`
}

type SilenceConfig struct {
	ThresholdDBFS float64  `yaml:"threshold_dbfs"`
	After         Duration `yaml:"after"`
}

type CityConfig struct {
	URL        string   `yaml:"url"`
	Token      string   `yaml:"token"`
	PublicKey  string   `yaml:"public_key"`
	Poll       Duration `yaml:"poll"`
	MaxBackoff Duration `yaml:"max_backoff"`
	GCGrace    Duration `yaml:"gc_grace"`
	// TLSPin pins the city's TLS certificate key (sha256/BASE64 of its
	// SubjectPublicKeyInfo) for city.url and city.nats over TLS; "" = the
	// system's certificate authorities decide. `loa-agent join` records it.
	TLSPin string `yaml:"tls_pin"`
	// NATSTLSPin pins the NATS servers' certificate key (tls:// in
	// city.nats); "" = the system's certificate authorities decide.
	NATSTLSPin string `yaml:"nats_tls_pin"`
	// NATS are the city's NATS servers (nats://city:4222,...; "" = no
	// alerts); NATSKey the ward's NKEY seed (loa-city ward add).
	NATS    string `yaml:"nats"`
	NATSKey string `yaml:"nats_key"`
}

type AlertsConfig struct {
	MaxWait Duration `yaml:"max_wait"`
	// PlayTests puts alerts of status Test and Exercise on air (default:
	// they are received and reported, not played).
	PlayTests bool `yaml:"play_tests"`
	// OfflineAfter: the alert link down this long makes the station
	// unhealthy.
	OfflineAfter Duration `yaml:"offline_after"`
}

// Name is a word in the configuration.
type Name string

// lookup finds the value node at a path of mapping keys.
func lookup(n *yaml.Node, path ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, key := range path {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// Duration is a time.Duration written like 150ms, 30s, 10m in YAML.
type Duration = cmdkit.Duration

// DefaultDataDir is where a packaged agent keeps its state.
const DefaultDataDir = "/var/lib/loa"

// DefaultConfig returns the configuration with every default filled in.
func DefaultConfig() Config {
	return Config{
		Data:  DefaultDataDir,
		Clock: "auto", ClockMaxStep: Duration(5 * time.Minute), ClockPoll: Duration(10 * time.Minute),
		Audio: AudioConfig{
			Output: "auto", Rate: 44100, Channels: 2, Buffer: Duration(150 * time.Millisecond),
			TargetLUFS: cmdkit.DefaultTargetLUFS, MasterVolume: 100, CeilingDBTP: -1, DeviceHoldTime: Duration(30 * time.Second),
		},
		Amplifier: AmplifierConfig{PreRoll: Duration(3 * time.Second), OffDelay: Duration(30 * time.Second)},
		HTTP:      HTTPConfig{Listen: "127.0.0.1:8790"},
		Log:       cmdkit.DefaultLog(),
		AsRun:     AsRunConfig{RetentionDays: 90},
		Silence:   SilenceConfig{ThresholdDBFS: -50, After: Duration(10 * time.Second)},
		City:      CityConfig{Poll: Duration(60 * time.Second), MaxBackoff: Duration(10 * time.Minute), GCGrace: Duration(7 * 24 * time.Hour)},
		Alerts:    AlertsConfig{MaxWait: Duration(cmdkit.DefaultMaxWait), OfflineAfter: Duration(60 * time.Second)},
		Live:      LiveConfig{Input: "alsa:default", Mode: "duck", DuckDB: cmdkit.DefaultDuckDB},
		Fleet:     FleetConfig{Heartbeat: Duration(15 * time.Second), Thermal: "/sys/class/thermal"},
		Storage:   StorageConfig{Reserve: 32 * MB, MinFree: 128 * MB},
	}
}

// LoadConfig reads a configuration file over the defaults. A missing file
// is an error only when it was asked for explicitly.
func LoadConfig(path string, explicit bool) (Config, error) {
	cfg := DefaultConfig()
	cfg.path = path
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("config %s: %v", path, err)
	}
	// `output: null` is the null output. YAML reads the word as null, which
	// would leave the default (the sound card) in place: look for it.
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil {
		if n := lookup(&doc, "audio", "output"); n != nil && n.Tag == "!!null" && n.Value == "null" {
			cfg.Audio.Output = "null"
		}
	}
	if err := cfg.validate(); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

func (c *Config) validate() error {
	switch c.Clock {
	case "auto", "trust", "city":
	default:
		return fmt.Errorf("clock: %q: must be auto, trust or city", c.Clock)
	}
	if err := checkPin(c.City.TLSPin); err != nil {
		return fmt.Errorf("city.tls_pin: %v", err)
	}
	if err := checkPin(c.City.NATSTLSPin); err != nil {
		return fmt.Errorf("city.nats_tls_pin: %v", err)
	}
	if c.ClockPoll.D() < time.Second {
		return fmt.Errorf("clock_poll: %s: must be at least 1s", c.ClockPoll.D())
	}
	if c.ClockMaxStep.D() < time.Second {
		return fmt.Errorf("clock_max_step: %s: must be at least 1s", c.ClockMaxStep.D())
	}
	if c.Audio.Rate < 8000 || c.Audio.Rate > 192000 {
		return fmt.Errorf("audio.rate: %d: must be between 8000 and 192000", c.Audio.Rate)
	}
	if c.Audio.Channels != 1 && c.Audio.Channels != 2 {
		return fmt.Errorf("audio.channels: %d: must be 1 or 2", c.Audio.Channels)
	}
	if c.Audio.Buffer.D() < 20*time.Millisecond {
		return fmt.Errorf("audio.buffer: %s: too small (a Raspberry Pi needs at least 50ms)", c.Audio.Buffer.D())
	}
	if c.Audio.MasterVolume < 0 || c.Audio.MasterVolume > 100 {
		return fmt.Errorf("audio.master_volume: %d: must be 0-100", c.Audio.MasterVolume)
	}
	if err := validateControlListen(c.Control.Listen); err != nil {
		return err
	}
	if err := c.Storage.validate(); err != nil {
		return err
	}
	// log.format and log.level: a bad level is refused, like the city's,
	// not read as info.
	return c.Log.Check()
}
