package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/alert"
	"loa/city/commands"
	"loa/command"
	"loa/natsbus"
	"loa/signing"
)

// token is the LOA_TOKEN of a loactl environment.
func envToken(env []string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "LOA_TOKEN="); ok {
			return v
		}
	}
	return ""
}

// sendCommand posts a command as the user of env and returns its id.
func (c *alertCity) sendCommand(env []string, body string) string {
	c.t.Helper()
	req, _ := http.NewRequest("POST", "http://"+c.addr+"/api/v1/commands", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+envToken(env))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		c.t.Fatalf("POST /api/v1/commands %s: %d %s", body, resp.StatusCode, b)
	}
	var res struct{ ID string }
	json.Unmarshal(b, &res)
	return res.ID
}

// commandStatus reads GET /api/v1/commands/{id} as the admin (ok false: 404).
func (c *alertCity) commandStatus(id string) (commands.Status, bool) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+c.addr+"/api/v1/commands/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+envToken(c.adminCtl))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st commands.Status
	if resp.StatusCode == http.StatusNotFound {
		return st, false
	}
	json.NewDecoder(resp.Body).Decode(&st)
	return st, true
}

// waitAck waits until ward's ack of command id has state (and reason).
func (c *alertCity) waitAck(id, ward, state, reason string, limit time.Duration) commands.Ack {
	c.t.Helper()
	var got commands.Ack
	waitUntil(c.t, fmt.Sprintf("command %s %s %s at %s", id, state, reason, ward), limit, func() bool {
		st, ok := c.commandStatus(id)
		if !ok {
			return false
		}
		for _, a := range st.Acks {
			if a.Ward == ward && a.State == state && a.Reason == reason {
				got = a
				return true
			}
		}
		return false
	})
	return got
}

// A volume command of -6 dB takes the ward's output 6 dB down (measured
// in its WAV) and is acknowledged; then, while the ward plays an alert
// over its program and the alert stream is flooded with junk, stop_all
// silences it: the alert is cancelled and the program stays muted.
func TestCommandVolumeThenStopAllUnderFlood(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1")
	const progHz, alertHz = 1000, 700
	tone(t, filepath.Join(c.dir, "coi.wav"), alertHz, 60)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))
	a, wav := c.playingProgram("phuong-1", progHz)
	waitOnAir(t, 3*time.Second, a)

	fBefore := a.airFrames()
	vol := c.sendCommand(c.adminCtl, `{"to":"phuong-1","kind":"volume","args":{"db":-6}}`)
	ack := c.waitAck(vol, "phuong-1", "done", "", 30*time.Second)
	var detail struct {
		VolumeDB *float64 `json:"volume_db"`
	}
	json.Unmarshal(ack.Detail, &detail)
	if detail.VolumeDB == nil || *detail.VolumeDB != -6 || !ack.Signed || !ack.Verified {
		t.Fatalf("volume ack: %+v %s", ack, ack.Detail)
	}
	fAfter := a.airFrames()
	waitOnAir(t, 3*time.Second, a)

	// An alert on air over the program.
	id := c.alertSend("--media", "coi.wav", "--to", "phuong-1", "--priority", "emergency", "--chime=false", "--expires", "10m")
	c.waitWardState(id, "phuong-1", "started", 30*time.Second)
	fAlert := a.airFrames()
	waitOnAir(t, time.Second, a)

	// The alert stream flooded: thousands of junk copies for the ward.
	bus, err := natsbus.Dial(natsbus.ConnOptions{URLs: c.natsURL, Seed: c.adminKey, Name: "flood"})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	js, _ := jetstream.New(bus.Conn)
	waitUntil(t, "the flooder connected", 5*time.Second, bus.Conn.IsConnected)
	junk := bytes.Repeat([]byte("x"), 2000)
	const flood = 5000
	for i := 0; i < flood; i++ {
		if _, err := js.PublishAsync(natsbus.AlertWard("phuong-1"), junk); err != nil {
			t.Fatal(err)
		}
		if i%200 == 199 {
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(30 * time.Second):
				t.Fatal("the flood was not published")
			}
		}
	}
	ctx := context.Background()
	if info, err := js.Stream(ctx, natsbus.StreamAlerts); err == nil {
		t.Logf("ALERTS holds %d messages", info.CachedInfo().State.Msgs)
	}

	sent := time.Now()
	out := run(t, c.ctl, "loactl", "stop-all", "--to", "phuong-1", "--mute", "10m") // an alerter may
	stop := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	c.waitAck(stop, "phuong-1", "done", "", 30*time.Second)
	if st := run(t, c.ctl, "loactl", "command", "status", stop); !strings.Contains(st, "1 done") {
		t.Fatalf("loactl command status:\n%s", st)
	}
	t.Logf("stop_all acknowledged %.1f s after it was sent, behind a flood of %d alert copies", time.Since(sent).Seconds(), flood)
	c.waitWardState(id, "phuong-1", "cancelled", 30*time.Second)
	fStop := a.airFrames()
	waitOnAir(t, 3*time.Second, a)
	a.stop()

	x, rate := readWAVFile(t, wav)
	n := rate / 10
	win := func(f int64) int { return int(f / int64(agentRate/10)) }
	power := func(from, to int, hz float64) []float64 {
		var p []float64
		for i := from; i < to && (i+1)*n <= len(x); i++ {
			p = append(p, goertzel(x[i*n:(i+1)*n], hz, rate))
		}
		return p
	}
	median := func(v []float64) float64 {
		if len(v) == 0 {
			t.Fatal("no windows to measure")
		}
		s := append([]float64{}, v...)
		sort.Float64s(s)
		return s[len(s)/2]
	}
	before := median(power(win(fBefore)-20, win(fBefore)-2, progHz))
	after := median(power(win(fAfter)+5, win(fAlert)-5, progHz))
	drop := 10 * math.Log10(after/before)
	t.Logf("program tone: %.2f dB after volume -6", drop)
	if drop > -5.5 || drop < -6.5 {
		t.Fatalf("volume -6 changed the output by %.2f dB", drop)
	}
	tail := x[min(len(x), (win(fStop)+5)*n):]
	if len(tail) < rate {
		t.Fatalf("only %d samples after stop_all", len(tail))
	}
	if lvl := rmsDB(tail); lvl > -70 {
		t.Fatalf("after stop_all the output is at %.1f dBFS, want silence", lvl)
	}
}

// Commands published on the bus by someone else are refused by the ward
// and the refusal is reported at the city: unsigned, signed by a stranger,
// expired, replayed, or for another ward.
func TestCommandAttacksOnTheBus(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1", "phuong-2")
	a := c.startWard("phuong-1", "null")
	a.waitLinked()
	real := c.sendCommand(c.adminCtl, `{"to":"phuong-1","kind":"sync_now"}`)
	c.waitAck(real, "phuong-1", "done", "", 30*time.Second)

	ctx := context.Background()
	bus, err := natsbus.Dial(natsbus.ConnOptions{URLs: c.natsURL, Seed: c.adminKey, Name: "attacker"})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	js, _ := jetstream.New(bus.Conn)
	waitUntil(t, "the attacker connected", 5*time.Second, bus.Conn.IsConnected)
	stream, err := js.Stream(ctx, natsbus.StreamCommands)
	if err != nil {
		t.Fatal(err)
	}
	copyOfReal, err := stream.GetLastMsgForSubject(ctx, natsbus.CommandWard("phuong-1"))
	if err != nil {
		t.Fatal(err)
	}
	cityKey, err := signing.LoadKey(filepath.Join(c.dir, "city-data", "city.key"))
	if err != nil {
		t.Fatal(err)
	}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(id string, wards ...string) *command.Command {
		return &command.Command{ID: id, To: alert.Targets{Wards: wards}, Recipients: wards, Kind: command.StopAll,
			Args: command.Args{MuteSeconds: 3600}, Issued: now, Expires: now.Add(10 * time.Minute)}
	}
	sign := func(k ed25519.PrivateKey, cm *command.Command) []byte {
		b, err := command.Sign(k, cm)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	unsigned, _ := json.Marshal(mk("atk-unsigned", "phuong-1"))
	expired := mk("atk-expired", "phuong-1")
	expired.Issued, expired.Expires = now.Add(-time.Hour), now.Add(-time.Minute)
	attacks := []struct {
		id, reason string
		data       []byte
	}{
		{"atk-unsigned", command.ReasonUnsigned, unsigned},
		{"atk-stranger", command.ReasonUnknownKey, sign(stranger, mk("atk-stranger", "phuong-1"))},
		{"atk-expired", command.ReasonExpired, sign(cityKey, expired)},
		{real, command.ReasonReplay, copyOfReal.Data},
		{"atk-elsewhere", command.ReasonNotAddressed, sign(cityKey, mk("atk-elsewhere", "phuong-2"))},
	}
	for _, at := range attacks {
		if _, err := js.Publish(ctx, natsbus.CommandWard("phuong-1"), at.data); err != nil {
			t.Fatal(err)
		}
	}
	for _, at := range attacks {
		ack := c.waitAck(at.id, "phuong-1", "refused", at.reason, 30*time.Second)
		if !ack.Signed {
			t.Errorf("%s: the refusal is not signed by the ward", at.reason)
		}
	}
	// The real command shows done once, its replay refused.
	st, _ := c.commandStatus(real)
	if st.Done != 1 || len(st.Acks) != 2 {
		t.Fatalf("the real command after its replay: %+v", st)
	}
	if st, ok := c.commandStatus("atk-unsigned"); !ok || st.Known {
		t.Fatalf("a forged command shows as the city's: %+v", st)
	}
}
