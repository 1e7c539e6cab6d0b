package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"loa/audio"
	"loa/audio/soundcard"
	"loa/audio/stream"
	"loa/schedule"
)

func (c *CLI) run(ctx context.Context, args []string) error {
	fs := c.flags("run", "run [--config FILE] [--data DIR] [--clock-offset DURATION]")
	load := c.configFlags(fs)
	offset := fs.Duration("clock-offset", 0, "run the station's clock this far from the system clock (lệch đồng hồ đài / station clock offset): e.g. 8h rehearses the evening's programs now; 0, the default, is the system clock, for service")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	log := c.logger(cfg.Log.Format, cfg.Log.Level)
	log.Info("loa-agent starting", "version", Version, "ward", cfg.Ward, "data", cfg.Data)
	now := c.Now
	if off := *offset; off != 0 {
		// Everything the daemon dates (the schedule, as-run, heartbeats,
		// alert expiry) reads this clock; only intervals use the system's.
		now = func() time.Time { return c.Now().Add(off) }
		log.Warn("station clock offset from the system clock (--clock-offset): programs play at their times on the shifted clock",
			"offset", off.String(), "station_time", now().Format(time.RFC3339))
	}
	d := &Daemon{Cfg: cfg, Log: log, Now: now}
	return d.Run(ctx)
}

// fetchStatus asks the running daemon for its status.
func fetchStatus(ctx context.Context, listen string) (StatusReport, error) {
	var rep StatusReport
	addr := listen
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/api/v1/status", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rep, fmt.Errorf("%w at %s: %v", errNoDaemon, addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return rep, fmt.Errorf("status: HTTP %s", resp.Status)
	}
	return rep, json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rep)
}

func (c *CLI) status(ctx context.Context, args []string) error {
	fs := c.flags("status", "status [--json] [--config FILE]")
	asJSON := fs.Bool("json", false, "print the daemon's JSON status")
	load := c.configFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	rep, err := fetchStatus(ctx, cfg.HTTP.Listen)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printStatus(c.Stdout, rep)
	if !rep.Healthy {
		return errors.New("the station has problems (see above)")
	}
	return nil
}

func printStatus(w io.Writer, r StatusReport) {
	loc, err := time.LoadLocation(r.Timezone)
	if err != nil || r.Timezone == "" {
		loc = time.UTC
	}
	state := "TỐT / OK"
	if !r.Healthy || len(r.Problems) > 0 {
		state = "CÓ LỖI / PROBLEMS"
	}
	ward := r.Ward
	if ward == "" {
		ward = "(chưa đặt tên / unnamed)"
	}
	fmt.Fprintf(w, "Đài truyền thanh %s — %s\n", ward, state)
	fmt.Fprintf(w, "  phiên bản / version %s, chạy / up %s\n", r.Version, (time.Duration(r.Uptime) * time.Second).String())
	clock := "đúng giờ / trusted (" + r.Clock.Source + ")"
	if !r.Clock.Trusted {
		clock = "LỆCH GIỜ / NOT TRUSTED: " + r.Clock.Detail
	}
	fmt.Fprintf(w, "  đồng hồ / clock: %s\n", clock)
	dev := fmt.Sprintf("%s, mức / level %.1f dBFS, trễ / latency %.0f ms", r.Device.Output, r.Device.LevelDBFS, r.Device.LatencyMS)
	if !r.Device.OK {
		dev = "LỖI / ERROR: " + r.Device.Error
	}
	fmt.Fprintf(w, "  thiết bị / device: %s\n", dev)
	amp := "tắt / off"
	if r.Amplifier.Powered {
		amp = "bật / on"
	}
	fmt.Fprintf(w, "  âm ly / amplifier: %s\n", amp)
	printLink(w, r)
	switch {
	case r.Alert != nil:
		fmt.Fprintf(w, "  ĐANG PHÁT CẢNH BÁO / ALERT ON AIR: %s %s\n", r.Alert.ID, r.Alert.Title)
	case r.Live != nil:
		fmt.Fprintf(w, "  ĐANG PHÁT TRỰC TIẾP / LIVE: %s, %s\n", orDash(r.Live.Title, r.Live.ID), fmtOffsetLong(r.Live.Offset))
	case r.Program != nil:
		what := orDash(r.Program.Title, r.Program.ID)
		if r.Program.Item != "" {
			what += " (" + r.Program.Item + ")"
		}
		fmt.Fprintf(w, "  đang phát / on air: %s, %s\n", what, fmtOffsetLong(r.Program.Offset))
	default:
		fmt.Fprintln(w, "  nghỉ / idle")
	}
	if len(r.Next) > 0 {
		fmt.Fprintln(w, "  tiếp theo / next:")
		for _, n := range r.Next {
			fmt.Fprintf(w, "    %s  %s  %s\n", n.Start.In(loc).Format("02/01 15:04"), n.ID, n.Title)
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintln(w, "  ! "+p)
	}
}

func orDash(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func fmtOffsetLong(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// doctor checks what a technician would check, and says what to fix.
func (c *CLI) doctor(ctx context.Context, args []string) error {
	fs := c.flags("doctor", "doctor [--config FILE] [--no-tone]")
	noTone := fs.Bool("no-tone", false, "do not play the 1 s test tone")
	load := c.configFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	// The daemon, if it runs, holds the device: ask it instead.
	rep, derr := fetchStatus(ctx, cfg.HTTP.Listen)
	var running *StatusReport
	if derr == nil {
		running = &rep
	}
	tone := func() error { return playTestTone(ctx, cfg) }
	if *noTone {
		tone = nil
	}
	open := func() (*Station, func(), error) {
		st, err := OpenStation(ctx, cfg.Data, cfg.Audio.Rate, c.Now)
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close() }, nil
	}
	bad := 0
	for _, k := range doctorChecks(ctx, cfg, c.Now(), running, tone, open) {
		mark := "OK  "
		if !k.OK {
			mark = "LỖI"
			bad++
		}
		fmt.Fprintf(c.Stdout, "[%s] %s: %s\n", mark, k.What, k.Detail)
		if !k.OK && k.Fix != "" {
			fmt.Fprintf(c.Stdout, "       → %s\n", k.Fix)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d check(s) failed", bad)
	}
	return nil
}

// ffmpegRelay returns the URL of a relay in the coming week that needs
// ffmpeg (an HLS, AAC or Ogg stream, as far as its address tells), or "".
func ffmpegRelay(ctx context.Context, st *Station, now time.Time) string {
	sched, _ := st.Schedule(ctx)
	if sched == nil {
		return ""
	}
	d := schedule.DateOf(now.In(sched.Location()))
	for i := range 8 {
		for _, o := range sched.Timeline(d.AddDays(i)) {
			if o.Program.Relay != "" && stream.NeedsFFmpeg(o.Program.Relay) {
				return o.Program.Relay
			}
		}
	}
	return ""
}

// playTestTone plays 1 s of 1 kHz at −20 dBFS through the configured device.
func playTestTone(ctx context.Context, cfg Config) error {
	if cfg.Audio.Card != "" {
		os.Setenv("ALSA_CARD", cfg.Audio.Card)
	}
	card, err := soundcard.Open(cfg.Audio.Rate, cfg.Audio.Channels, cfg.Audio.Buffer.D(), time.Now)
	if err != nil {
		return err
	}
	e := audio.NewEngine(audio.EngineConfig{Rate: cfg.Audio.Rate})
	n := int64(cfg.Audio.Rate)
	e.Play(audio.Clip{ID: 1, Source: &testTone{rate: cfg.Audio.Rate, n: n}, FadeIn: cfg.Audio.Rate / 100})
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- card.Run(ctx, e) }()
	for e.Position() < n+int64(cfg.Audio.Buffer.D().Seconds()*float64(cfg.Audio.Rate)) {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
			return errors.New("the sound card stopped before the tone was played")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	return <-done
}

type testTone struct {
	rate   int
	n, pos int64
}

func (t *testTone) Stream(dst [][2]float64) (int, bool) {
	if t.pos >= t.n {
		return 0, false
	}
	k := int(min(int64(len(dst)), t.n-t.pos))
	for i := 0; i < k; i++ {
		v := 0.1 * sinTable(float64(t.pos+int64(i))*1000/float64(t.rate))
		dst[i] = [2]float64{v, v}
	}
	t.pos += int64(k)
	return k, true
}

func (t *testTone) Err() error { return nil }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
