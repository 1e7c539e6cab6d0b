package city

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"loa/city/restream"
	"loa/internal/cmdkit"
)

// Config is loa-city's configuration file (YAML). Every key has a default;
// docs/api.md lists them.
type Config struct {
	// Name is the station's name, shown on every page of the console
	// ("Đài truyền thanh thành phố Huế").
	Name string `yaml:"name"`
	// Data is the data folder: database, media library, signing key.
	Data string `yaml:"data"`
	// Listen is the HTTP address.
	Listen string `yaml:"listen"`
	// Timezone is the city's zone; every program file must use it.
	Timezone string `yaml:"timezone"`
	// Key is the signing key file (default DATA/city.key).
	Key    string       `yaml:"key"`
	Ingest IngestConfig `yaml:"ingest"`
	Log    LogConfig    `yaml:"log"`
	// TLS, when set, serves HTTPS (city/tls.go).
	TLS    TLSConfig    `yaml:"tls"`
	Fleet  FleetConfig  `yaml:"fleet"`
	NATS   NATSConfig   `yaml:"nats"`
	Alerts AlertsConfig `yaml:"alerts"`
	// AlertRules: the two-person rule and test alerts (city/alert_rules.go).
	AlertRules AlertRulesConfig `yaml:"alert_rules"`
	Speech     SpeechConfig     `yaml:"speech"`
	// CAP is CAP 1.2 ingest and the city's CAP feed (city/cap.go).
	CAP CAPConfig `yaml:"cap"`
	// Notify is notifications by e-mail, Telegram and webhook
	// (city/notify_config.go).
	Notify NotifyConfig `yaml:"notify"`
	// Restream is the outside streams re-streamed to the wards
	// (city/restream.go).
	Restream RestreamConfig `yaml:"restream"`
}

// SpeechConfig is how text becomes speech (console and text alerts).
type SpeechConfig struct {
	// Abbreviations are the city's additions to the words expanded before
	// speaking ("BQL": "Ban quản lý"); an empty value removes one of
	// loa's own (loa/vitext).
	Abbreviations map[string]string `yaml:"abbreviations"`
}

// IngestConfig bounds media ingest.
type IngestConfig struct {
	// FFmpeg is the ffmpeg program.
	FFmpeg string `yaml:"ffmpeg"`
	// FFprobe is the ffprobe program: it reads the duration an upload's
	// container claims, for formats loa's own probe does not read ("":
	// those uploads are checked against their size only).
	FFprobe string `yaml:"ffprobe"`
	// Workers is how many transcodes run at once.
	Workers int `yaml:"workers"`
	// MaxUploadMB bounds an upload.
	MaxUploadMB int64 `yaml:"max_upload_mb"`
	// Timeout bounds one transcode.
	Timeout Duration `yaml:"timeout"`
	// UploadExpiry is how long an unfinished resumable upload is kept.
	UploadExpiry Duration `yaml:"upload_expiry"`
}

// LogConfig sets up logging (format: text | json; level: debug | info |
// warn | error), the same in every loa program.
type LogConfig = cmdkit.LogConfig

// Duration is a time.Duration written like "30m" in YAML.
type Duration = cmdkit.Duration

// DefaultConfig is the configuration with every default.
func DefaultConfig() Config {
	return Config{
		Data:     "/var/lib/loa-city",
		Listen:   ":8780",
		Timezone: "Asia/Ho_Chi_Minh",
		Ingest: IngestConfig{
			FFmpeg:       "ffmpeg",
			FFprobe:      "ffprobe",
			Workers:      2,
			MaxUploadMB:  2048,
			Timeout:      Duration(30 * time.Minute),
			UploadExpiry: Duration(24 * time.Hour),
		},
		Log:        cmdkit.DefaultLog(),
		NATS:       defaultNATSConfig(),
		Alerts:     defaultAlertsConfig(),
		AlertRules: defaultAlertRules(),
		CAP:        defaultCAPConfig(),
		Notify:     defaultNotifyConfig(),
		Restream:   defaultRestreamConfig(),
		Fleet: FleetConfig{OfflineAfter: 3, ClockMaxOffset: Duration(2 * time.Second), SyncGrace: Duration(10 * time.Minute),
			LateAfter: Duration(2 * time.Second), LateHold: Duration(30 * time.Minute), Heartbeat: Duration(15 * time.Second), HistoryDays: 90,
			DiskMinFreeMB: 64, MapTiles: DefaultMapTiles, MapAttribution: DefaultMapAttribution},
	}
}

// LoadConfig reads a configuration file over the defaults; "" gives the
// defaults. Unknown keys are errors.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, err
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("%s: %v", path, err)
		}
	}
	return cfg, cfg.check(path)
}

func (c *Config) check(path string) error {
	where := "configuration"
	if path != "" {
		where = path
	}
	switch {
	case c.Data == "":
		return fmt.Errorf("%s: data: empty", where)
	case c.Listen == "":
		return fmt.Errorf("%s: listen: empty", where)
	case c.Ingest.Workers < 1:
		return fmt.Errorf("%s: ingest.workers: %d, want at least 1", where, c.Ingest.Workers)
	case c.Ingest.MaxUploadMB < 1:
		return fmt.Errorf("%s: ingest.max_upload_mb: %d, want at least 1", where, c.Ingest.MaxUploadMB)
	case c.Ingest.Timeout <= 0 || c.Ingest.UploadExpiry <= 0:
		return fmt.Errorf("%s: ingest durations must be positive", where)
	}
	if err := restream.Check(c.Restream.Sources); err != nil {
		return fmt.Errorf("%s: restream.sources: %v", where, err)
	}
	if c.Restream.Bitrate < 32 || c.Restream.Bitrate > 320 || c.Restream.ListenerQueue < 16 || c.Restream.Linger < 0 {
		return fmt.Errorf("%s: restream: bitrate %d (cần/want 32–320), listener_queue %d (cần/want ≥ 16), linger %s (cần/want ≥ 0): giá trị không hợp lệ / out of range",
			where, c.Restream.Bitrate, c.Restream.ListenerQueue, time.Duration(c.Restream.Linger))
	}
	if err := c.Log.Check(); err != nil { // log.format, log.level
		return fmt.Errorf("%s: %w", where, err)
	}
	if c.Timezone == "" || c.Timezone == "Local" {
		return fmt.Errorf("%s: timezone: %q, want an IANA zone name like Asia/Ho_Chi_Minh", where, c.Timezone)
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		return fmt.Errorf("%s: timezone: unknown zone %q", where, c.Timezone)
	}
	if c.Key == "" {
		c.Key = filepath.Join(c.Data, "city.key")
	}
	if c.NATS.TLS && (c.TLS.Cert == "" || c.TLS.Key == "") {
		return fmt.Errorf("%s: nats.tls: needs tls.cert and tls.key (the embedded server serves the same certificate)", where)
	}
	if c.NATS.TLSPin != "" && (!strings.HasPrefix(c.NATS.TLSPin, "sha256/") || len(c.NATS.TLSPin) != len("sha256/")+44) {
		return fmt.Errorf("%s: nats.tls_pin: %q: want sha256/ and the base64 of a sha256", where, c.NATS.TLSPin)
	}
	if c.NATS.TLS && c.NATS.URL != "" {
		return fmt.Errorf("%s: nats.tls: for the embedded server only (an external server's TLS is its own configuration; give wards tls:// in nats.advertise)", where)
	}
	if err := c.NATS.check(where, c.Data); err != nil {
		return err
	}
	if err := c.AlertRules.check(where); err != nil {
		return err
	}
	if err := c.CAP.check(where); err != nil {
		return err
	}
	if err := c.Notify.check(where); err != nil {
		return err
	}
	return c.Alerts.check(where)
}
