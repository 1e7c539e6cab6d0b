package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"loa/alert"
	"loa/internal/testwait"
	"loa/natsbus"
)

// adminGet is an admin's GET on the city's HTTP API.
func (c *alertCity) adminGet(path string) string {
	c.t.Helper()
	tok := ""
	for _, e := range c.adminCtl {
		if v, ok := strings.CutPrefix(e, "LOA_TOKEN="); ok {
			tok = v
		}
	}
	req, _ := http.NewRequest("GET", "http://"+c.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// adminMetric is the value of the city's series whose line starts with name
// and holds every one of labels ("" if absent).
func (c *alertCity) adminMetric(name string, labels ...string) string {
	c.t.Helper()
next:
	for _, l := range strings.Split(c.adminGet("/metrics"), "\n") {
		if !strings.HasPrefix(l, name+"{") {
			continue
		}
		for _, lb := range labels {
			if !strings.Contains(l, lb) {
				continue next
			}
		}
		return l[strings.LastIndexByte(l, ' ')+1:]
	}
	return ""
}

// wardProblems are the problems loactl wards --json shows for ward.
func (c *alertCity) wardProblems(ward string) (state string, details []string) {
	c.t.Helper()
	out := run(c.t, c.ctl, "loactl", "wards", "--json")
	var ws []wardHealth
	if err := json.Unmarshal([]byte(out), &ws); err != nil {
		c.t.Fatalf("loactl wards --json: %v\n%s", err, out)
	}
	for _, w := range ws {
		if w.ID == ward && w.Health != nil {
			for _, p := range w.Health.Problems {
				details = append(details, p.State+": "+p.Detail)
			}
			return w.Health.State, details
		}
	}
	return "", nil
}

func (c *alertCity) waitProblem(ward, want string) {
	c.t.Helper()
	var got []string
	var state string
	waitUntil(c.t, ward+" shows "+want, 15*time.Second, func() bool {
		state, got = c.wardProblems(ward)
		for _, d := range got {
			if strings.Contains(d, want) {
				return state == "identity!"
			}
		}
		return false
	})
}

// copiedKey logs in to the city's NATS with a copy of ward's key, as a
// plain NATS client that does not reconnect.
func (c *alertCity) copiedKey(ward string) *nats.Conn {
	c.t.Helper()
	kp, err := nkeys.FromSeed([]byte(c.seeds[ward]))
	if err != nil {
		c.t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	nc, err := nats.Connect(c.natsURL, nats.Nkey(pub, kp.Sign), nats.NoReconnect(), nats.Name("copy of "+ward),
		nats.CustomInboxPrefix(natsbus.InboxPrefix(ward)))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(nc.Close)
	return nc
}

// A copy of a ward's NATS key used while the station runs. The copy's
// login closes the station's connection; the station is back within a
// second and closes the copy's; the city counts and shows the duplicate
// login. An emergency sent then plays at the station. With the station
// off, the copy publishes "finished" for an alert waiting for it, bare
// and signed by a key of its own: the city refuses both, counts and shows
// them, and the alert is not finished until the station, back, plays it.
func TestWardKeyCopied(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1")
	const toneHz = 700
	tone(t, filepath.Join(c.dir, "coi.wav"), toneHz, 2)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))
	wav := filepath.Join(c.dir, "phuong-1.wav")
	a := c.startWard("phuong-1", "wav:"+wav)
	a.waitLinked()
	waitUntil(t, "the station's receipt key registered", 15*time.Second, func() bool {
		var w struct {
			ReceiptKeyID string `json:"receipt_key_id"`
		}
		json.Unmarshal([]byte(c.adminGet("/api/v1/wards/phuong-1")), &w)
		return w.ReceiptKeyID != ""
	})

	// The copy logs in while the station runs.
	cp := c.copiedKey("phuong-1")
	waitUntil(t, "the copy's connection closed by the station's return", 15*time.Second, cp.IsClosed)
	a.waitLinked()
	waitUntil(t, "the duplicate login counted at the city", 15*time.Second, func() bool {
		v := c.adminMetric("loa_city_ward_duplicate_logins_total", `ward="phuong-1"`)
		return v != "" && v != "0"
	})
	c.waitProblem("phuong-1", "ward key logged in twice")
	logged := false
	b, _ := os.ReadFile(c.proc.log)
	for _, l := range strings.Split(string(b), "\n") {
		logged = logged || strings.Contains(l, "ward key logged in twice") && strings.Contains(l, "phuong-1") && strings.Contains(l, "old_remote")
	}
	if !logged {
		t.Fatalf("the city's log does not name the duplicate login:\n%s", tail(string(b), 30))
	}

	// An emergency then reaches the station and plays.
	id := c.alertSend("--media", "coi.wav", "--to", "phuong-1", "--priority", "emergency", "--chime=false")
	c.waitWardState(id, "phuong-1", "finished", 30*time.Second)
	if rows := alertRows(t, a.data); len(rows) != 1 || rows[0].Program != id || rows[0].Result != "completed" {
		t.Fatalf("as-run of the station: %+v", rows)
	}
	a.stop()
	x, rate := readWAVFile(t, wav)
	loud := 0
	for _, w := range analyze(x, rate, toneHz) {
		if w.level > -30 {
			loud++
		}
	}
	if loud < 15 { // 2 s of the alert's tone, in 100 ms windows
		t.Fatalf("the alert is not in the station's output: %d loud windows of 100 ms", loud)
	}

	// Forged receipts, the station off.
	id2 := c.alertSend("--media", "coi.wav", "--to", "phuong-1", "--priority", "emergency", "--chime=false", "--expires", "10m")
	cp = c.copiedKey("phuong-1")
	now := time.Now().UTC()
	fin := alert.Report{Alert: id2, Verified: true, Ward: "phuong-1", State: alert.Finished, At: now, Seq: 99}
	bare, _ := alert.EncodeReport(fin)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	forged, _ := alert.SignReport(stranger, fin)
	for _, m := range [][]byte{bare, forged} {
		if err := cp.Publish(natsbus.Report("phuong-1"), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := cp.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, reason := range []string{"unsigned", "unknown_key"} {
		ok := testwait.Poll(15*time.Second, func() bool {
			return c.adminMetric("loa_city_ward_messages_refused_total", `ward="phuong-1"`, `kind="receipt"`, `reason="`+reason+`"`) == "1"
		})
		if !ok {
			t.Fatalf("the %s receipt not counted as refused:\n%s", reason, c.adminGet("/metrics"))
		}
	}
	c.waitProblem("phuong-1", "forged receipt refused")
	if st := c.wardState(id2, "phuong-1"); st.State == "finished" {
		t.Fatalf("a forged receipt finished the alert: %+v", st)
	}
	for _, r := range c.reports(id2) {
		if r.State == "finished" {
			t.Fatalf("a forged receipt recorded: %+v", r)
		}
	}
	cp.Close()

	// The station back: it plays the alert, and its own receipt counts.
	a = a.restart()
	c.waitWardState(id2, "phuong-1", "finished", 30*time.Second)
	if rows := alertRows(t, a.data); len(rows) != 2 || rows[1].Program != id2 || rows[1].Result != "completed" {
		t.Fatalf("as-run of the station: %+v", rows)
	}
}
