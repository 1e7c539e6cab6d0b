package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"loa/audio/capture"
	"loa/audio/stream"
	"loa/player"
)

// LiveConfig is the ward's own live input (microphone, mixer line out):
// switched on by `loa-agent live start` or by a push-to-talk command.
type LiveConfig struct {
	// Input is the default input: alsa:DEVICE (e.g. alsa:plughw:1,0).
	Input string `yaml:"input"`
	Mode  string `yaml:"mode"` // duck | exclusive
	// DuckDB lowers the program under the voice.
	DuckDB float64 `yaml:"duck_db"`
	// PTT is a command polled every 200 ms while the daemon runs; when it
	// prints 1 the input goes on air, when it prints 0 it comes off (for
	// example `gpioget gpiochip0 27` on a push-to-talk button).
	PTT string `yaml:"ptt"`
}

// LiveRequest is POST /api/v1/live.
type LiveRequest struct {
	Input  string  `json:"input"` // alsa:DEVICE or an http(s) stream URL
	Mode   string  `json:"mode"`  // duck | exclusive
	DuckDB float64 `json:"duck_db"`
	Title  string  `json:"title,omitempty"`
}

// openLive opens a live input: the ward's ALSA capture or a stream.
func (d *Daemon) openLive(ctx context.Context, input string) (player.LiveSource, error) {
	switch {
	case strings.HasPrefix(input, "alsa:"):
		return capture.Open(ctx, capture.Config{Device: strings.TrimPrefix(input, "alsa:"), Rate: d.Cfg.Audio.Rate, Log: d.Log.With("component", "line-in")})
	case strings.HasPrefix(input, "http://") || strings.HasPrefix(input, "https://"):
		return stream.Open(ctx, stream.Config{URL: input, Rate: d.Cfg.Audio.Rate, Buffer: 500 * time.Millisecond, Log: d.Log.With("component", "live")}), nil
	}
	return nil, fmt.Errorf("input %q: want alsa:DEVICE or an http(s) stream URL", input)
}

// startLive puts a live input on air.
func (d *Daemon) startLive(ctx context.Context, req LiveRequest, id string) error {
	if req.Input == "" {
		req.Input = d.Cfg.Live.Input
	}
	if req.Mode == "" {
		req.Mode = d.Cfg.Live.Mode
	}
	if req.DuckDB == 0 {
		req.DuckDB = d.Cfg.Live.DuckDB
	}
	if req.Mode != "duck" && req.Mode != "exclusive" {
		return fmt.Errorf("mode %q: want duck or exclusive", req.Mode)
	}
	if req.DuckDB > 0 || req.DuckDB < -60 {
		return fmt.Errorf("duck_db %.0f: want between -60 and 0", req.DuckDB)
	}
	src, err := d.openLive(ctx, req.Input)
	if err != nil {
		return err
	}
	d.pl.StartLive(player.Live{ID: id, Title: req.Title, Source: src, Exclusive: req.Mode == "exclusive", DuckDB: req.DuckDB})
	return nil
}

func (d *Daemon) handleLiveStart(ctx context.Context) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req LiveRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		id := "ward-" + d.wall().Format("20060102-150405")
		if err := d.startLive(ctx, req, id); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"id": id})
	}
}

func (d *Daemon) handleLiveStop(w http.ResponseWriter, r *http.Request) {
	d.pl.StopLive("")
	w.WriteHeader(http.StatusNoContent)
}

// pushToTalk polls the push-to-talk command: 1 puts the configured input
// on air, 0 takes it off.
func (d *Daemon) pushToTalk(ctx context.Context) {
	cmd := d.Cfg.Live.PTT
	if cmd == "" {
		return
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	on, failing := false, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		out, err := exec.CommandContext(cctx, "/bin/sh", "-c", cmd).Output()
		cancel()
		if err != nil {
			if !failing {
				d.Log.Error("push-to-talk command failed", "cmd", cmd, "err", err)
			}
			failing = true
			continue
		}
		failing = false
		pressed := bytes.Equal(bytes.TrimSpace(out), []byte("1"))
		switch {
		case pressed && !on:
			if err := d.startLive(ctx, LiveRequest{Title: "push-to-talk"}, "ptt-"+d.wall().Format("150405")); err != nil {
				d.Log.Error("push-to-talk: live input", "err", err)
				continue
			}
			on = true
		case !pressed && on:
			d.pl.StopLive("")
			on = false
		}
	}
}

// live is `loa-agent live start|stop` against the running daemon's
// control listener, with the token from the token file.
func (c *CLI) live(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "start" && args[0] != "stop") {
		return usageErr("usage: loa-agent live start [--input alsa:DEVICE|URL] [--mode duck|exclusive] [--duck-db -15] | live stop")
	}
	fs := c.flags("live "+args[0], "live start [--input alsa:DEVICE|URL] [--mode duck|exclusive] [--duck-db -15] | live stop")
	var req LiveRequest
	fs.StringVar(&req.Input, "input", "", "alsa:DEVICE (the ward's line-in) or an http(s) stream; default live.input")
	fs.StringVar(&req.Mode, "mode", "", "duck (program lowered) or exclusive (program muted); default live.mode")
	fs.Float64Var(&req.DuckDB, "duck-db", 0, "how far the program is lowered in duck mode; default live.duck_db")
	load := c.configFlags(fs)
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	cc, err := newControlClient(cfg)
	if err != nil {
		return err
	}
	method, body := http.MethodDelete, []byte(nil)
	if args[0] == "start" {
		method = http.MethodPost
		body, _ = json.Marshal(req)
	}
	resp, err := cc.do(ctx, method, "/api/v1/live", body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusBadRequest:
		return inputErr(errors.New(strings.TrimSpace(string(msg))))
	case resp.StatusCode >= 300:
		return fmt.Errorf("live %s: HTTP %s: %s", args[0], resp.Status, strings.TrimSpace(string(msg)))
	}
	if args[0] == "start" {
		fmt.Fprintln(c.Stdout, "Phát trực tiếp / live: on air")
	} else {
		fmt.Fprintln(c.Stdout, "Phát trực tiếp / live: off")
	}
	return nil
}
