package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/command"
	"loa/natsbus"
	"loa/signing"
)

// commandSend runs loactl command send as the admin and returns the id.
func (c *alertCity) commandSend(args ...string) string {
	c.t.Helper()
	out := run(c.t, c.adminCtl, "loactl", append([]string{"command", "send"}, args...)...)
	id := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	if !strings.HasPrefix(id, "cmd-") {
		c.t.Fatalf("command send printed %q", out)
	}
	return id
}

// toneRuns lists the runs of 100 ms windows of x where the test tone
// sounds alone at its level (1 kHz at a peak of dbfs: power A²/4 at 1 kHz,
// RMS A/√2), as [first window, windows).
func toneRuns(x []float64, rate int, dbfs float64) [][2]int {
	n := rate / 10
	amp := math.Pow(10, dbfs/20)
	var runs [][2]int
	for i := 0; (i+1)*n <= len(x); i++ {
		seg := x[i*n : (i+1)*n]
		p := goertzel(seg, 1000, rate) / (amp * amp / 4)
		on := p > 0.8 && p < 1.25 && math.Abs(rmsDB(seg)-(dbfs-3.01)) < 1
		if !on {
			continue
		}
		if k := len(runs) - 1; k >= 0 && runs[k][0]+runs[k][1] == i {
			runs[k][1]++
		} else {
			runs = append(runs, [2]int{i, 1})
		}
	}
	return runs
}

// The technician's test tone, through the real city, NATS and agent: sent
// with loactl, it plays a 1 kHz tone at the asked level for the asked
// seconds (measured in the ward's WAV output), and the ward acks it with
// the level its output meter measured, within 1 dB of the asked one. A
// second tone is cut by an emergency alert arriving during it: the alert
// plays, the tone does not come back, and the ack says it was cut.
func TestCommandTestToneMeasuredAndCutByAlert(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1")
	const alertHz = 700
	tone(t, filepath.Join(c.dir, "coi.wav"), alertHz, 4)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))
	wav := filepath.Join(c.dir, "phuong-1.wav")
	a := c.startWard("phuong-1", "wav:"+wav)
	a.waitLinked()

	const level, secs = -12.0, 3
	id := c.commandSend("--to", "phuong-1", "--kind", "test_tone", "--seconds", fmt.Sprint(secs), "--level", fmt.Sprint(level))
	ack := c.waitAck(id, "phuong-1", "done", "", 60*time.Second)
	var detail struct {
		Kind      string   `json:"kind"`
		LevelDBFS *float64 `json:"level_dbfs"`
	}
	json.Unmarshal(ack.Detail, &detail)
	if detail.LevelDBFS == nil || math.Abs(*detail.LevelDBFS-level) > 1 || detail.Kind != "test_tone" || !ack.Signed || !ack.Verified {
		t.Fatalf("test tone ack: %+v %s, want done with a level within 1 dB of %g", ack, ack.Detail, level)
	}
	t.Logf("test tone asked at %g dBFS, measured by the ward %.1f dBFS", level, *detail.LevelDBFS)

	// A long tone, cut by an emergency alert.
	long := c.commandSend("--to", "phuong-1", "--kind", "test_tone", "--seconds", "30")
	waitUntil(t, "the second tone on air", 60*time.Second, func() bool {
		_, body := a.get("/api/v1/status")
		var s struct {
			TestTone *struct{ ID string } `json:"test_tone"`
		}
		json.Unmarshal([]byte(body), &s)
		return s.TestTone != nil && s.TestTone.ID == long
	})
	waitOnAir(t, time.Second, a)
	alertID := c.alertSend("--media", "coi.wav", "--to", "phuong-1", "--priority", "emergency", "--chime=false", "--expires", "10m")
	// The ack of the cut tone names the alert that cut it.
	c.waitAck(long, "phuong-1", "failed", "test_tone: bị cắt / cut: cắt bởi cảnh báo / cut by alert "+alertID, 60*time.Second)
	c.waitWardState(alertID, "phuong-1", "finished", 60*time.Second)
	waitOnAir(t, 2*time.Second, a)
	a.stop()

	x, rate := readWAVFile(t, wav)
	runs := toneRuns(x, rate, level)
	t.Logf("1 kHz tone runs (100 ms windows): %v", runs)
	if len(runs) != 2 {
		t.Fatalf("%d runs of the tone, want 2 (the whole one, the cut one)", len(runs))
	}
	// Whole windows inside 3 s: 29 or 30 by where the tone falls.
	if runs[0][1] < secs*10-1 || runs[0][1] > secs*10 {
		t.Errorf("the first tone lasted %d windows, want %d s", runs[0][1], secs)
	}
	// After the second tone, the alert (700 Hz), and no tone again.
	n := rate / 10
	after := runs[1][0] + runs[1][1]
	alertWins := 0
	for i := after; (i+1)*n <= len(x); i++ {
		seg := x[i*n : (i+1)*n]
		if goertzel(seg, alertHz, rate) > 10*goertzel(seg, 1000, rate) && rmsDB(seg) > -40 {
			alertWins++
		}
	}
	if alertWins < 30 {
		t.Errorf("the alert sounded for %d windows after the tone was cut, want its 4 s", alertWins)
	}
	if runs[1][1] >= 300-1 {
		t.Errorf("the second tone ran %d windows: not cut", runs[1][1])
	}
	b, _ := os.ReadFile(a.log.Name())
	if !strings.Contains(string(b), "generated clip cut") {
		t.Error("the agent's log does not say the tone was cut")
	}
}

// logCount is how many lines of the agent's log contain s.
func (a *agentProc) logCount(s string) int {
	b, _ := os.ReadFile(a.log.Name())
	return strings.Count(string(b), s)
}

// The restart command, with the real binary: the ward acks it "done", then
// the agent starts over in a fresh process (it re-executes itself: same
// process id, so systemd's unit sees no exit), comes back linked, and the
// same command does not restart it again — neither JetStream's redelivery
// nor a copy replayed on the bus by a raw NATS client (refused: replay).
func TestCommandRestartDoesNotLoop(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1")
	a := c.startWard("phuong-1", "null")
	a.waitLinked()
	const started = `"msg":"audio output"`
	if n := a.logCount(started); n != 1 {
		t.Fatalf("%d starts in the log before the restart", n)
	}
	pid := a.cmd.Process.Pid

	id := c.commandSend("--to", "phuong-1", "--kind", "restart")
	c.waitAck(id, "phuong-1", "done", "", 60*time.Second)
	waitUntil(t, "the agent started again", 60*time.Second, func() bool { return a.logCount(started) == 2 })
	select {
	case <-a.done:
		t.Fatalf("the agent exited instead of restarting: %v", a.err)
	default:
	}
	if a.cmd.Process.Pid != pid {
		t.Fatal("a new process")
	}
	waitUntil(t, "the agent answers again", 30*time.Second, func() bool { code, _ := a.get("/api/v1/status"); return code == 200 })
	a.waitLinked()

	// A command sent after the restart is executed: the consumer went past
	// the restart without running it again.
	sync := c.commandSend("--to", "phuong-1", "--kind", "sync_now")
	c.waitAck(sync, "phuong-1", "done", "", 60*time.Second)

	// The restart's own message published again by someone on the bus:
	// refused as a replay, no restart.
	ctx := context.Background()
	bus, err := natsbus.Dial(natsbus.ConnOptions{URLs: c.natsURL, Seed: c.adminKey, Name: "replayer"})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	js, _ := jetstream.New(bus.Conn)
	waitUntil(t, "the replayer connected", 5*time.Second, bus.Conn.IsConnected)
	stream, err := js.Stream(ctx, natsbus.StreamCommands)
	if err != nil {
		t.Fatal(err)
	}
	var copyOfRestart []byte
	for seq := uint64(1); ; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("the restart command is not on the stream: %v", err)
		}
		if bytesHasID(m.Data, id) {
			copyOfRestart = m.Data
			break
		}
	}
	if _, err := js.Publish(ctx, natsbus.CommandWard("phuong-1"), copyOfRestart); err != nil {
		t.Fatal(err)
	}
	c.waitAck(id, "phuong-1", "refused", command.ReasonReplay, 60*time.Second)
	// Once more a command behind it, acked: by then the replay was handled.
	sync2 := c.commandSend("--to", "phuong-1", "--kind", "sync_now")
	c.waitAck(sync2, "phuong-1", "done", "", 60*time.Second)
	if n := a.logCount(started); n != 2 {
		t.Fatalf("the agent started %d times, want 2 (one restart)", n)
	}
	if n := a.logCount(`"msg":"restarting loa-agent"`); n != 1 {
		t.Fatalf("%d restarts logged, want 1", n)
	}
	st, _ := c.commandStatus(id)
	if st.Done != 1 {
		t.Fatalf("restart status %+v, want done once", st)
	}
}

// bytesHasID reports whether a signed command envelope carries id (its
// payload is base64 JSON).
func bytesHasID(data []byte, id string) bool {
	var env signing.Envelope
	if json.Unmarshal(data, &env) != nil {
		return false
	}
	var c struct{ ID string }
	return json.Unmarshal(env.Payload, &c) == nil && c.ID == id
}

// The diagnostics command through the real city, NATS and agent: the ward
// answers with its bundle (status, its last log lines, configuration,
// versions) in its signed ack, the city shows it in
// GET /api/v1/commands/{id}, and neither the ward's token nor its NATS
// seed is anywhere in it.
func TestCommandDiagnosticsBundle(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1")
	a := c.startWard("phuong-1", "null")
	a.waitLinked()
	id := c.commandSend("--to", "phuong-1", "--kind", "diagnostics", "--log-lines", "50")
	ack := c.waitAck(id, "phuong-1", "done", "", 60*time.Second)
	if !ack.Signed || !ack.Verified {
		t.Fatalf("diagnostics ack: %+v", ack)
	}
	var detail struct {
		Kind        string `json:"kind"`
		Diagnostics struct {
			Ward    string         `json:"ward"`
			Version string         `json:"version"`
			OS      string         `json:"os"`
			Status  *struct{}      `json:"status"`
			Config  map[string]any `json:"config"`
			Log     []string       `json:"log"`
			Doctor  []struct {
				OK     bool   `json:"ok"`
				What   string `json:"what"`
				Detail string `json:"detail"`
			} `json:"doctor"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal(ack.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	dg := detail.Diagnostics
	city, _ := dg.Config["city"].(map[string]any)
	if detail.Kind != "diagnostics" || dg.Ward != "phuong-1" || dg.Version == "" || dg.OS == "" || dg.Status == nil ||
		len(dg.Log) == 0 || len(dg.Log) > 50 || city["token"] != "[redacted]" || city["nats_key"] != "[redacted]" {
		t.Fatalf("bundle: %s", ack.Detail)
	}
	if len(ack.Detail) > command.MaxDiagnostics+512 {
		t.Errorf("bundle of %d bytes", len(ack.Detail))
	}
	// loa-agent doctor's checks, run inside the daemon: the database
	// integrity and the daemon itself among them.
	checked := map[string]string{}
	for _, k := range dg.Doctor {
		checked[k.What] = k.Detail
	}
	if checked["cơ sở dữ liệu / database"] != "integrity check ok" || !strings.HasPrefix(checked["dịch vụ / daemon"], "running, up ") {
		t.Errorf("the doctor's checks in the bundle: %+v", dg.Doctor)
	}
	// The whole answer of the API, as a technician would read it.
	req, _ := http.NewRequest("GET", "http://"+c.addr+"/api/v1/commands/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+envToken(c.adminCtl))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for what, secret := range map[string]string{"token": c.tokens["phuong-1"], "NATS seed": c.seeds["phuong-1"]} {
		if secret == "" || strings.Contains(string(body), secret) {
			t.Errorf("the ward's %s is in the diagnostics answer (or unknown)", what)
		}
	}
	t.Logf("diagnostics bundle: %d bytes, %d log lines", len(ack.Detail), len(dg.Log))
	if out := run(t, c.adminCtl, "loactl", "command", "status", id); !strings.Contains(out, "bytes: --json") {
		t.Errorf("loactl command status:\n%s", out)
	}
}
