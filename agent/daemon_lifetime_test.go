package agent

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/audio"
)

// watchedOutput is a null output that says when its Run has returned.
type watchedOutput struct {
	audio.Output
	ended chan struct{}
}

func (o *watchedOutput) Run(ctx context.Context, e *audio.Engine) error {
	defer close(o.ended)
	return o.Output.Run(ctx, e)
}

// A start that fails after the daemon's parts are running (the alert link
// configured without the city's HTTP, the status port taken) returns its
// error, and only once every part it started has ended: nothing is left
// playing or writing behind a daemon that says it stopped.
func TestDaemonFailedStartEndsEveryPart(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"alerts without the city's HTTP", func(c *Config) {
			c.City.NATS, c.Ward = "nats://127.0.0.1:1", "phuong-1"
		}, "city.url"},
		{"status port taken", func(c *Config) { c.HTTP.Listen = taken.Addr().String() }, taken.Addr().String()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Data = filepath.Join(t.TempDir(), "data")
			cfg.Clock = "trust"
			cfg.HTTP.Listen = "127.0.0.1:0"
			cfg.Audio.Output = "null"
			cfg.Audio.Buffer = Duration(100 * time.Millisecond)
			c.edit(&cfg)
			out := &watchedOutput{ended: make(chan struct{})}
			d := &Daemon{Cfg: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				OpenOutput: func(now func() time.Time) (audio.Output, error) {
					out.Output = audio.NewPaced("null", cfg.Audio.Rate, cfg.Audio.Buffer.D(), now, nil)
					return out, nil
				}}
			err := d.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Run: %v, want an error naming %q", err, c.want)
			}
			select {
			case <-out.ended:
			default:
				t.Fatal("Run returned with the audio output still running")
			}
		})
	}
}
