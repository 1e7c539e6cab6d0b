package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/internal/testwait"
)

// cityProc is a real loa-city process.
type cityProc struct {
	t      *testing.T
	config string
	url    string
	cmd    *exec.Cmd
	done   chan struct{}
	log    string
}

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// lastField is the last whitespace-separated word of s: a token or key a
// command prints on its last line.
func lastField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// onePersonAlerts turns the two-person rule off in the tests of other
// things; e2e/alert_approval_test.go tests it with the default rule.
const onePersonAlerts = "alert_rules:\n  approval:\n    emergency_wards: 0\n"

func startCity(t *testing.T, dir, addr string) *cityProc {
	t.Helper()
	c := &cityProc{t: t, config: filepath.Join(dir, "city.yaml"), url: "http://" + addr, done: make(chan struct{})}
	if _, err := os.Stat(c.config); err != nil {
		os.WriteFile(c.config, []byte(fmt.Sprintf("data: %s\nlisten: %s\nnats:\n  listen: 127.0.0.1:0\n%s", filepath.Join(dir, "city-data"), addr, onePersonAlerts)), 0o600)
	}
	c.start()
	return c
}

func (c *cityProc) start() {
	t := c.t
	c.done = make(chan struct{})
	c.cmd = exec.Command(filepath.Join(bin, "loa-city"), "run", "--config", c.config)
	logf, _ := os.CreateTemp(t.TempDir(), "city-*.log")
	c.log = logf.Name()
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	t.Cleanup(c.stop)
	if testwait.Poll(15*time.Second, func() bool {
		resp, err := http.Get(c.url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}) {
		return
	}
	b, _ := os.ReadFile(c.log)
	t.Fatalf("loa-city did not answer:\n%s", b)
}

func (c *cityProc) stop() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(os.Interrupt)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-c.done
		}
	}
}

type timeline struct {
	Programs []struct {
		ID    string    `json:"id"`
		Start time.Time `json:"start"`
	} `json:"programs"`
}

func agentShow(t *testing.T, data, date string) timeline {
	t.Helper()
	out := run(t, nil, "loa-agent", "program", "show", "--data", data, "--json", "--date", date)
	var tl timeline
	if err := json.Unmarshal([]byte(out), &tl); err != nil {
		t.Fatalf("program show: %v\n%s", err, out)
	}
	return tl
}

func hasProgram(tl timeline, id string) bool {
	for _, p := range tl.Programs {
		if p.ID == id {
			return true
		}
	}
	return false
}

// A program loaded at the city reaches the ward and plays there; with the
// city gone the ward keeps playing it; a change made at the city after it
// comes back reaches the ward.
func TestCityToWardSyncAndOffline(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	dir := t.TempDir()
	cityAddr := freePort(t)
	city := startCity(t, dir, cityAddr)
	cfg := []string{"--config", city.config}
	key := strings.Fields(run(t, nil, "loa-city", append([]string{"key"}, cfg...)...))[2]
	wardToken := wardAdd(t, cfg, "phuong-1", "--group", "quan-1").Token
	admin := lastField(run(t, nil, "loa-city", append([]string{"user", "add", "bien-tap", "--role", "admin"}, cfg...)...))
	ctl := []string{"LOA_CITY=" + city.url, "LOA_TOKEN=" + admin, "HOME=" + dir}

	tone(t, filepath.Join(dir, "ban-tin.wav"), 1000, 3)
	run(t, ctl, "loactl", "media", "upload", filepath.Join(dir, "ban-tin.wav"))
	start, offset := shiftedMinute(30 * time.Second) // on the ward's clock
	onAir := start.Add(-offset)                      // on the system clock
	prog := filepath.Join(dir, "city.yaml.programs")
	os.WriteFile(prog, []byte(fmt.Sprintf("programs:\n  - id: ban-tin-thanh-pho\n    title: Bản tin thành phố\n    date: %s\n    at: \"%s\"\n    items: [ban-tin.wav]\n",
		start.Format("2006-01-02"), start.Format("15:04"))), 0o644)
	run(t, ctl, "loactl", "program", "load", prog, "--ward", "phuong-1")

	data := filepath.Join(dir, "ward-data")
	addr := freePort(t)
	extra := fmt.Sprintf("ward: phuong-1\ncity:\n  url: %s\n  token: %s\n  public_key: %s\n  poll: 2s\n  max_backoff: 3s\n", city.url, wardToken, key)
	a := startAgent(t, writeAgentConfig(t, dir, data, addr, "null", extra), addr, data, nil, clockOffset(offset))
	day := start.Format("2006-01-02")
	waitUntil(t, "the city's program on the ward", 15*time.Second, func() bool { return hasProgram(agentShow(t, data, day), "ban-tin-thanh-pho") })

	// The city goes away before the program: the ward plays it anyway.
	city.stop()
	waitUntil(t, "the program logged", time.Until(onAir)+30*time.Second, func() bool { return len(asrun(t, data)) > 0 })
	rows := asrun(t, data)
	if len(rows) != 1 || rows[0].Program != "ban-tin-thanh-pho" || rows[0].Result != "completed" || rows[0].Source != "city" {
		t.Fatalf("as-run with the city offline: %+v", rows)
	}
	var st struct {
		Sync struct {
			LastError string  `json:"last_error"`
			Age       float64 `json:"age_s"`
		} `json:"sync"`
		Healthy bool `json:"healthy"`
	}
	_, body := a.get("/api/v1/status")
	json.Unmarshal([]byte(body), &st)
	if st.Sync.LastError == "" || st.Sync.Age < 2 || !st.Healthy {
		t.Fatalf("status with the city offline: %s", body)
	}

	// The city comes back; a new program loaded there reaches the ward.
	city.start()
	later := start.Add(2 * time.Hour)
	os.WriteFile(prog, []byte(fmt.Sprintf("programs:\n  - id: thong-bao-moi\n    date: %s\n    at: \"%s\"\n    items: [ban-tin.wav]\n",
		later.Format("2006-01-02"), later.Format("15:04"))), 0o644)
	run(t, ctl, "loactl", "program", "load", prog, "--ward", "phuong-1")
	laterDay := later.Format("2006-01-02")
	waitUntil(t, "the changed program on the ward", 20*time.Second, func() bool {
		tl := agentShow(t, data, laterDay)
		return hasProgram(tl, "thong-bao-moi") && !hasProgram(agentShow(t, data, day), "ban-tin-thanh-pho")
	})
}

// wardAdd registers a ward with `loa-city ward add --json`.
func wardAdd(t *testing.T, cfg []string, id string, args ...string) wardCredentials {
	t.Helper()
	out := run(t, nil, "loa-city", append(append([]string{"ward", "add", id, "--json"}, args...), cfg...)...)
	var w wardCredentials
	if err := json.Unmarshal([]byte(out), &w); err != nil || w.Token == "" {
		t.Fatalf("ward add --json: %v\n%s", err, out)
	}
	return w
}

type wardCredentials struct {
	Token    string `json:"token"`
	NATSKey  string `json:"nats_key"`
	JoinCode string `json:"join_code"`
}

func waitUntil(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	testwait.For(t, what, limit, cond)
}
