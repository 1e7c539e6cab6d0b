package agent

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"loa/audio"
	"loa/schedule"
)

// demoText is the demo bulletin, spoken by espeak-ng when it is installed.
const demoText = "Đây là Đài truyền thanh phường. Xin thông báo: đây là bản tin thử nghiệm của hệ thống loa. " +
	"Chương trình sẽ kết thúc sau bản nhạc nền. Xin cảm ơn bà con đã lắng nghe."

func sinTable(cycles float64) float64 { return math.Sin(2 * math.Pi * cycles) }

// makeDemoMedia generates the demo's media: a station chime, a spoken
// bulletin (espeak-ng, Vietnamese) and a music bed. Nothing is downloaded.
func makeDemoMedia(dir string) (spoken bool, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	const rate = 44100
	// Chime: three rising notes with a bell-like decay.
	if err := writeSynth(filepath.Join(dir, "nhac-hieu.wav"), rate, 2.4, func(t float64) float64 {
		v := 0.0
		for i, f := range []float64{659.25, 880, 1318.5} {
			start := float64(i) * 0.4
			if t >= start {
				d := t - start
				v += 0.25 * math.Exp(-d*2.5) * (sinTable(f*d) + 0.3*sinTable(2*f*d))
			}
		}
		return v
	}); err != nil {
		return false, err
	}
	// Music bed: 20 s of slow major chords with a soft envelope.
	chords := [][]float64{{261.63, 329.63, 392}, {220, 261.63, 329.63}, {174.61, 220, 261.63}, {196, 246.94, 293.66}}
	if err := writeSynth(filepath.Join(dir, "nhac-nen.wav"), rate, 20, func(t float64) float64 {
		c := chords[int(t/5)%len(chords)]
		local := math.Mod(t, 5)
		env := math.Min(1, local/0.5) * math.Min(1, (5-local)/0.5)
		fade := math.Min(1, (20-t)/2)
		v := 0.0
		for _, f := range c {
			v += 0.12 * sinTable(f*t)
		}
		return v * env * fade
	}); err != nil {
		return false, err
	}
	bulletin := filepath.Join(dir, "ban-tin.wav")
	if espeak, err := exec.LookPath("espeak-ng"); err == nil {
		out, err := exec.Command(espeak, "-v", "vi", "-s", "140", "-w", bulletin, demoText).CombinedOutput()
		if err == nil {
			return true, nil
		}
		slog.Warn("espeak-ng failed; a tone stands in for the bulletin", "err", err, "out", string(out))
	}
	// Without espeak-ng: a tone pattern in the place of speech.
	return false, writeSynth(bulletin, rate, 6, func(t float64) float64 {
		if math.Mod(t, 1) > 0.6 {
			return 0
		}
		return 0.3 * sinTable(440*t)
	})
}

func writeSynth(path string, rate int, secs float64, f func(t float64) float64) error {
	w, err := audio.CreateWAV(path, rate, 1)
	if err != nil {
		return err
	}
	n := int(secs * float64(rate))
	buf := make([][2]float64, 4096)
	for i := 0; i < n; i += len(buf) {
		k := min(len(buf), n-i)
		for j := 0; j < k; j++ {
			v := f(float64(i+j) / float64(rate))
			buf[j] = [2]float64{v, v}
		}
		if err := w.Write(buf[:k]); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// demoProgram writes the demo program file: chime, bulletin and music bed
// at the next whole minute at least 15 s away. refs are the three media
// references as the file must name them.
func demoProgram(path string, start time.Time, chime, bulletin, music string) error {
	body := fmt.Sprintf(`# loa demo program
timezone: Asia/Ho_Chi_Minh
programs:
  - id: ban-tin-demo
    title: Bản tin thử nghiệm (demo)
    date: %s
    at: "%s"
    chime: %s
    items:
      - %s
      - %s
`, start.Format("2006-01-02"), start.Format("15:04"), chime, bulletin, music)
	return os.WriteFile(path, []byte(body), 0o644)
}

// demoStart is the next whole minute at least 15 s after now, in Vietnam.
func demoStart(now time.Time) time.Time {
	loc := schedule.DefaultLocation()
	now = now.In(loc)
	start := now.Truncate(time.Minute).Add(time.Minute)
	if start.Sub(now) < 15*time.Second {
		start = start.Add(time.Minute)
	}
	return start
}

// demo runs a station that plays a demo program, to the sound card or,
// when there is none, to a WAV file, and stops once the program has
// played. On its own it generates everything (media, a local program);
// with --config it runs the station so configured (scripts/demo.sh gives
// it a city that sends the program) and waits for the program --wait.
func (c *CLI) demo(ctx context.Context, args []string) error {
	fs := c.flags("demo", "demo [--dir DIR] [--out FILE.wav] [--forever] | demo --make-media DIR | demo --config FILE --wait PROGRAM")
	dir := fs.String("dir", ".demo", "folder for the demo's media and data")
	out := fs.String("out", "loa-demo.wav", "WAV file written when there is no sound card")
	output := fs.String("output", "auto", "auto (sound card, else the WAV file), alsa, wav:PATH or null")
	forever := fs.Bool("forever", false, "keep the station running after the demo program")
	listen := fs.String("listen", "127.0.0.1:8790", "status and health address")
	makeMedia := fs.String("make-media", "", "only generate the demo media into this folder")
	cfgPath := fs.String("config", "", "run the station with this configuration instead of a local demo program")
	wait := fs.String("wait", "ban-tin-demo", "with --config: the program to wait for")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *makeMedia != "" {
		spoken, err := makeDemoMedia(*makeMedia)
		if err == nil && !spoken {
			fmt.Fprintln(c.Stdout, "(espeak-ng not found: a tone pattern stands in for the spoken bulletin)")
		}
		return err
	}
	var cfg Config
	programID := *wait
	if *cfgPath != "" {
		var err error
		if cfg, err = LoadConfig(*cfgPath, true); err != nil {
			return inputErr(err)
		}
		*listen = cfg.HTTP.Listen
	} else {
		abs, err := filepath.Abs(*dir)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.Stdout, "loa demo: tạo nội dung mẫu / generating sample media…")
		spoken, err := makeDemoMedia(filepath.Join(abs, "media"))
		if err != nil {
			return err
		}
		if !spoken {
			fmt.Fprintln(c.Stdout, "  (espeak-ng not found: a tone pattern stands in for the spoken bulletin)")
		}
		start := demoStart(c.Now())
		prog := filepath.Join(abs, "demo.yaml")
		if err := demoProgram(prog, start, "media/nhac-hieu.wav", "media/ban-tin.wav", "media/nhac-nen.wav"); err != nil {
			return err
		}
		cfg = DefaultConfig()
		cfg.Data = filepath.Join(abs, "data")
		cfg.Clock = "trust"
		cfg.Ward = "demo"
		cfg.HTTP.Listen = *listen
		st, err := OpenStation(ctx, cfg.Data, cfg.Audio.Rate, c.Now)
		if err != nil {
			return err
		}
		_, err = st.LoadProgram(ctx, prog, false)
		st.Close()
		if err != nil {
			return err
		}
		programID = "ban-tin-demo"
		fmt.Fprintf(c.Stdout, "  chương trình bắt đầu lúc / the program starts at %s\n", start.Format("15:04:05"))
	}
	wavPath, _ := filepath.Abs(*out)
	d := &Daemon{Cfg: cfg, Log: c.logger("text", "info"), Now: c.Now}
	played := "alsa"
	d.OpenOutput = func(now func() time.Time) (audio.Output, error) {
		a := cfg.Audio
		switch *output {
		case "auto":
			a.Output = "alsa"
			if o, err := OpenOutput(a, now); err == nil {
				fmt.Fprintln(c.Stdout, "  phát ra card âm thanh / playing to the sound card")
				return o, nil
			} else {
				fmt.Fprintf(c.Stdout, "  không có card âm thanh / no sound card (%s)\n  → ghi ra / writing to %s\n", firstLine(err), wavPath)
			}
			a.Output = Name("wav:" + wavPath)
		default:
			a.Output = Name(*output)
		}
		played = string(a.Output)
		return OpenOutput(a, now)
	}
	fmt.Fprintf(c.Stdout, "  trạng thái / status: http://%s/api/v1/status\n", *listen)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	if *forever {
		return <-done
	}
	loc := schedule.DefaultLocation()
	deadline := time.After(5 * time.Minute)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	announced := false
	for {
		select {
		case err := <-done:
			return err
		case <-deadline:
			cancel()
			<-done
			return fmt.Errorf("the demo program %q did not play within 5 minutes", programID)
		case <-tick.C:
		}
		rep, err := fetchStatus(ctx, *listen)
		if err != nil {
			continue
		}
		if !announced {
			for _, n := range rep.Next {
				if n.ID == programID {
					fmt.Fprintf(c.Stdout, "  %q sẽ phát lúc / will play at %s\n", n.Title, n.Start.In(loc).Format("15:04:05"))
					announced = true
				}
			}
		}
		if rep.Program != nil {
			continue
		}
		var rows []AsRunRow
		for _, r := range rep.AsRun {
			if r.Program == programID {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		cancel()
		err = <-done
		fmt.Fprintln(c.Stdout, "Nhật ký phát sóng / as-run:")
		for i := len(rows) - 1; i >= 0; i-- {
			r := rows[i]
			fmt.Fprintf(c.Stdout, "  %s  trễ / late %4d ms  %-28s %s\n", r.Actual.In(loc).Format("15:04:05.000"), r.LateMS, r.Item, r.Result)
		}
		if strings.HasPrefix(played, "wav:") {
			fmt.Fprintf(c.Stdout, "Nghe lại / listen: %s\n", wavPath)
		}
		return err
	}
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexAny(s, ":"); i > 0 && len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
