package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"loa/alert"
	"loa/natsbus"
	"loa/signing"
)

type alertStatusJSON struct {
	Alerts *struct {
		NATS struct {
			Connected bool `json:"connected"`
		} `json:"nats"`
		Consumer string `json:"consumer_error"`
	} `json:"alerts"`
	Program *struct {
		ID string `json:"id"`
	} `json:"now_playing"`
}

func (a *agentProc) alertStatus() alertStatusJSON {
	a.t.Helper()
	_, body := a.get("/api/v1/status")
	var s alertStatusJSON
	json.Unmarshal([]byte(body), &s)
	return s
}

// waitLinked waits until the agent reads its alert consumer.
func (a *agentProc) waitLinked() {
	a.t.Helper()
	waitUntil(a.t, "the agent's alert link", 15*time.Second, func() bool {
		s := a.alertStatus()
		return s.Alerts != nil && s.Alerts.NATS.Connected && s.Alerts.Consumer == ""
	})
}

// Three wards play a program; an emergency text alert sent with loactl
// cuts in on all three: each ward's captured output has the program's tone
// until the alert, then the chime and the speech where the tone was, then
// the tone again; loactl shows all finished.
func TestAlertEmergencyTextPreemptsThreeWards(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1:quan-1", "phuong-2:quan-1", "phuong-3:quan-2")
	const toneHz = 1000 // espeak-ng's speech has almost nothing at 1 kHz
	tone(t, filepath.Join(c.dir, "chuong-trinh.wav"), toneHz, 150)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "chuong-trinh.wav"))
	start := time.Now().In(ict).Truncate(time.Minute) // on air already: wards join it
	prog := filepath.Join(c.dir, "p.yaml")
	os.WriteFile(prog, []byte(fmt.Sprintf("programs:\n  - id: nhac\n    title: Chương trình ca nhạc\n    date: %s\n    at: \"%s\"\n    items: [chuong-trinh.wav]\n",
		start.Format("2006-01-02"), start.Format("15:04"))), 0o644)
	run(t, c.adminCtl, "loactl", "program", "load", prog, "--all")

	wards := []string{"phuong-1", "phuong-2", "phuong-3"}
	agents := map[string]*agentProc{}
	wavs := map[string]string{}
	for _, w := range wards {
		wavs[w] = filepath.Join(c.dir, w+".wav")
		agents[w] = c.startWard(w, "wav:"+wavs[w])
	}
	for _, w := range wards {
		a := agents[w]
		waitUntil(t, w+" playing the program", 30*time.Second, func() bool {
			s := a.alertStatus()
			return s.Program != nil && s.Program.ID == "nhac"
		})
		a.waitLinked()
	}
	var all []*agentProc
	for _, w := range wards {
		all = append(all, agents[w])
	}
	waitOnAir(t, 2*time.Second, all...) // some program before the alert

	out := run(t, c.ctl, "loactl", "alert", "send", "--text", "Cảnh báo khẩn cấp. Bão số năm đang vào đất liền. Người dân ven sông sơ tán ngay.",
		"--voice", "vi-vn-x-south", "--to", "all", "--priority", "emergency", "--headline", "Bão số 5", "--wait", "--timeout", "45s")
	t.Logf("loactl alert send --wait:\n%s", out)
	id := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	if !strings.Contains(out, "3 wards: 3 done (3 finished") {
		t.Fatalf("not all finished:\n%s", out)
	}
	st := c.alertStatus(id)
	speech := st.Content.DurationS
	for _, w := range st.Wards {
		t.Logf("%s: received +%d ms, on air +%d ms, finished +%d ms (from issue, by the ward's clock)", w.Ward, *w.ReceivedMS, *w.StartedMS, *w.FinishedMS)
		// An emergency does not wait for the program's item (150 s) to end.
		if *w.StartedMS > 5000 {
			t.Errorf("%s: on air %d ms after issue", w.Ward, *w.StartedMS)
		}
	}
	status := run(t, c.ctl, "loactl", "alert", "status", id)
	if strings.Count(status, "đã phát xong / finished") != 3 {
		t.Fatalf("loactl alert status:\n%s", status)
	}
	waitOnAir(t, 3*time.Second, all...) // the program again
	for _, w := range wards {
		agents[w].stop()
	}

	for _, w := range wards {
		x, rate := readWAVFile(t, wavs[w])
		ws := analyze(x, rate, toneHz)
		// The gap: the tone for 2 s, then absent, then back for 1 s.
		gap, end := -1, -1
		for i := 22; i < len(ws) && gap < 0; i++ {
			on := 0
			for _, w := range ws[i-22 : i] {
				if w.tone > 0.3 {
					on++
				}
			}
			if ws[i].tone < 0.05 && on >= 18 {
				gap = i
			}
		}
		for i := max(gap, 0); gap >= 0 && i+10 <= len(ws) && end < 0; i++ {
			back := true
			for _, w := range ws[i : i+10] {
				back = back && w.tone > 0.3
			}
			if back {
				end = i
			}
		}
		if gap < 0 || end < 0 {
			t.Fatalf("%s: no alert-shaped gap in the program's tone (%d windows)", w, len(ws))
		}
		got := float64(end-gap) / 10
		want := 1.2 + speech // built-in chime, then the speech
		t.Logf("%s: program tone absent for %.1f s from %.1f s into the capture (chime + speech: %.1f s)", w, got, float64(gap)/10, want)
		if got < want-0.6 || got > want+1.0 {
			t.Errorf("%s: the program stopped for %.1f s, the alert lasts %.1f s", w, got, want)
		}
		var chime float64
		for _, win := range ws[gap : gap+6] {
			chime = max(chime, win.chime)
		}
		if chime < 0.1 {
			t.Errorf("%s: no chime at the start of the alert (880 Hz at %.3f of the program's level)", w, chime)
		}
		// Under the alert the program is muted, not ducked: its tone is gone
		// from every window (a ducked tone would stay, 15 dB down, in all
		// of them: median 0.03), while speech now and then has a harmonic
		// near 1 kHz (one window, not the median).
		voiced, n := 0, 0
		var under []float64
		for _, win := range ws[gap+13 : end-2] { // the edges hold the fades
			n++
			under = append(under, win.tone)
			if win.tone > 0.2 {
				t.Fatalf("%s: the program's tone under the alert (%.3f at window %d of %d-%d)", w, win.tone, gap+12+n, gap, end)
			}
			if win.level > -45 {
				voiced++
			}
		}
		med := quantile(under, 0.5)
		t.Logf("%s: under the alert the program's tone is at %.1f dB (median of %d windows), speech in %d", w, 10*math.Log10(med+1e-12), n, voiced)
		if med > 0.003 {
			t.Errorf("%s: the program's tone under the alert: median %.4f of its level", w, med)
		}
		if voiced < n/2 {
			t.Errorf("%s: speech heard in %d of %d windows of the alert", w, voiced, n)
		}
		rows := alertRows(t, agents[w].data)
		if len(rows) != 1 || rows[0].Program != id || rows[0].Result != "completed" {
			t.Errorf("%s: as-run %+v", w, rows)
		}
	}
}

// A ward offline when the alert is sent plays it when it is back before
// it expires; one back after it expired refuses it, says so, and plays
// nothing.
func TestAlertOfflineWardAndExpiry(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1", "phuong-2")
	tone(t, filepath.Join(c.dir, "coi.wav"), 700, 2)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))
	a1, a2 := c.startWard("phuong-1", "null"), c.startWard("phuong-2", "null")
	a1.waitLinked()
	a2.waitLinked()
	a1.stop()
	a2.stop()

	id := c.alertSend("--media", "coi.wav", "--to", "all", "--priority", "emergency", "--expires", "12s", "--chime=false")
	sent := time.Now()
	// phuong-1 stays offline 2 s after the send: the scenario (a ward
	// back before the expiry), not a wait for anything.
	time.Sleep(2 * time.Second)
	a1 = a1.restart()
	c.waitWardState(id, "phuong-1", "finished", 20*time.Second)

	// phuong-2 comes back once the alert has expired: a deadline only the
	// wall clock tells.
	waitUntil(t, "the alert's expiry past", 30*time.Second, func() bool { return time.Since(sent) > 13*time.Second })
	a2 = a2.restart()
	st := c.waitWardState(id, "phuong-2", "rejected", 20*time.Second)
	if st.Reason != alert.ReasonExpired {
		t.Fatalf("phuong-2: %+v", st)
	}
	if v := a2.metric(`loa_alerts_rejected_total{reason="expired"}`); v != "1" {
		t.Fatalf("expired rejections counted: %q", v)
	}
	if rows := alertRows(t, a2.data); len(rows) != 0 {
		t.Fatalf("phuong-2 played an expired alert: %+v", rows)
	}
	if rows := alertRows(t, a1.data); len(rows) != 1 || rows[0].Result != "completed" {
		t.Fatalf("phuong-1: %+v", rows)
	}
}

// The city killed between the send and the delivery loses nothing: the
// alert waits in JetStream on disk; receipts sent while the city is down
// reach it when it is back.
func TestAlertSurvivesCityRestart(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1")
	c.agentExtra = "alerts:\n  offline_after: 2s\n"
	tone(t, filepath.Join(c.dir, "coi.wav"), 700, 2)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))
	a := c.startWard("phuong-1", "null")
	a.waitLinked()
	if code, body := a.get("/healthz"); code != 200 {
		t.Fatalf("healthz with the link up: %d %s", code, body)
	}
	a.stop()

	id := c.alertSend("--media", "coi.wav", "--to", "phuong-1", "--priority", "emergency", "--expires", "5m")
	c.proc.cmd.Process.Kill() // no clean shutdown: what was acknowledged is on disk
	<-c.proc.done
	c.proc.start()
	a = a.restart()
	c.waitWardState(id, "phuong-1", "finished", 30*time.Second)

	// Receipts while the city is down.
	id2 := c.alertSend("--media", "coi.wav", "--to", "phuong-1", "--priority", "emergency", "--expires", "5m", "--chime=false")
	waitUntil(t, "the second alert on air", 15*time.Second, func() bool {
		rows := c.reports(id2)
		return len(rows) > 0
	})
	c.proc.cmd.Process.Kill()
	<-c.proc.done
	waitUntil(t, "the second alert played with the city down", 15*time.Second, func() bool {
		rows := alertRows(t, a.data)
		return len(rows) == 2
	})
	// The link down longer than alerts.offline_after: health says so.
	waitUntil(t, "healthz to report the alert link down", 10*time.Second, func() bool {
		code, body := a.get("/healthz")
		return code == 503 && strings.Contains(body, "alert link down")
	})
	c.proc.start()
	c.waitWardState(id2, "phuong-1", "finished", 30*time.Second)
	waitUntil(t, "healthz back to 200", 15*time.Second, func() bool {
		code, _ := a.get("/healthz")
		return code == 200
	})
}

// A program loaded at the city reaches a ward at once, through the NATS
// notification, not at its next poll (10 minutes away here).
func TestProgramChangeNotifiedOverNATS(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1")
	c.agentExtra = "#poll:10m\n"
	tone(t, filepath.Join(c.dir, "ban-tin.wav"), 440, 1)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "ban-tin.wav"))
	a := c.startWard("phuong-1", "null")
	a.waitLinked()
	waitUntil(t, "the first poll at start", 15*time.Second, func() bool {
		_, body := a.get("/api/v1/status")
		var s struct {
			Sync *struct {
				LastSuccess string `json:"last_success"`
			} `json:"sync"`
		}
		json.Unmarshal([]byte(body), &s)
		return s.Sync != nil && s.Sync.LastSuccess != ""
	})
	later := time.Now().In(ict).Add(3 * time.Hour)
	prog := filepath.Join(c.dir, "p.yaml")
	os.WriteFile(prog, []byte(fmt.Sprintf("programs:\n  - id: thong-bao\n    date: %s\n    at: \"%s\"\n    items: [ban-tin.wav]\n",
		later.Format("2006-01-02"), later.Format("15:04"))), 0o644)
	loaded := time.Now()
	run(t, c.adminCtl, "loactl", "program", "load", prog, "--ward", "phuong-1")
	waitUntil(t, "the program on the ward", 10*time.Second, func() bool { return hasProgram(agentShow(t, a.data, later.Format("2006-01-02")), "thong-bao") })
	t.Logf("on the ward %s after the load", time.Since(loaded).Round(10*time.Millisecond))
}

// Forged, tampered, expired, replayed and misaddressed alerts published
// straight onto NATS by a client holding an admin key to the bus (not the
// city's signing key) are never played; each refusal is counted and
// reported. A ward's own key can neither publish an alert nor read another
// ward's subjects: the NATS server refuses.
func TestAlertAttacksOnTheBus(t *testing.T) {
	t.Parallel()
	c := newAlertCity(t, "", "phuong-1", "phuong-2")
	tone(t, filepath.Join(c.dir, "coi.wav"), 700, 1)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))
	a := c.startWard("phuong-1", "null")
	a.waitLinked()
	real := c.alertSend("--media", "coi.wav", "--to", "phuong-1", "--priority", "emergency", "--chime=false")
	c.waitWardState(real, "phuong-1", "finished", 20*time.Second)

	ctx := context.Background()
	bus, err := natsbus.Dial(natsbus.ConnOptions{URLs: c.natsURL, Seed: c.adminKey, Name: "attacker"})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	js, _ := jetstream.New(bus.Conn)
	waitUntil(t, "the attacker connected", 5*time.Second, bus.Conn.IsConnected)
	stream, err := js.Stream(ctx, natsbus.StreamAlerts)
	if err != nil {
		t.Fatal(err)
	}
	copyOfReal, err := stream.GetLastMsgForSubject(ctx, natsbus.AlertWard("phuong-1"))
	if err != nil {
		t.Fatal(err)
	}
	// The city's key, to make alerts the city could have signed (an old
	// one, one for a neighbour): signature checks alone do not stop them.
	cityKey, err := signing.LoadKey(filepath.Join(c.dir, "city-data", "city.key"))
	if err != nil {
		t.Fatal(err)
	}
	_, strangerKey, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(id string, recipients ...string) *alert.Alert {
		var media alert.Content
		orig, _ := alert.ReadEnvelope(copyOfReal.Data)
		ra, _ := alert.Decode(orig.Payload)
		media.Media = ra.Content.Media
		return &alert.Alert{ID: id, MsgType: alert.MsgAlert, Status: alert.StatusActual, Sender: "ke-gian", Issued: now, Expires: now.Add(10 * time.Minute),
			Priority: alert.Emergency, Targets: alert.Targets{Wards: recipients}, Recipients: recipients, Repeat: 1, Volume: 100, Content: media}
	}
	signed := func(key ed25519.PrivateKey, a *alert.Alert) []byte {
		_, raw, err := alert.Sign(key, a)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	unsigned, _ := json.Marshal(mk("atk-unsigned", "phuong-1"))
	tampered := func() []byte {
		env, _, _ := alert.Sign(cityKey, mk("atk-tampered", "phuong-1"))
		env.Payload = []byte(strings.Replace(string(env.Payload), `"volume":100`, `"volume":1`, 1))
		b, _ := json.Marshal(env)
		return b
	}()
	expired := mk("atk-expired", "phuong-1")
	expired.Issued, expired.Expires = now.Add(-time.Hour), now.Add(-time.Minute)
	attacks := []struct {
		id, reason string
		data       []byte
	}{
		{"", alert.ReasonUnsigned, unsigned},
		{"atk-stranger", alert.ReasonUnknownKey, signed(strangerKey, mk("atk-stranger", "phuong-1"))},
		{"atk-tampered", alert.ReasonBadSignature, tampered},
		{"atk-expired", alert.ReasonExpired, signed(cityKey, expired)},
		{real, alert.ReasonReplay, copyOfReal.Data},
		{"atk-elsewhere", alert.ReasonNotAddressed, signed(cityKey, mk("atk-elsewhere", "phuong-2"))},
	}
	for _, at := range attacks {
		if _, err := js.Publish(ctx, natsbus.AlertWard("phuong-1"), at.data); err != nil {
			t.Fatal(err)
		}
	}
	for _, at := range attacks {
		waitUntil(t, "the rejection of "+at.reason+" counted", 15*time.Second, func() bool {
			return a.metric(fmt.Sprintf(`loa_alerts_rejected_total{reason=%q}`, at.reason)) == "1"
		})
		waitUntil(t, "the rejection of "+at.reason+" reported", 15*time.Second, func() bool {
			for _, r := range c.reports(at.id) {
				if r.Ward == "phuong-1" && r.State == "rejected" && r.Reason == at.reason {
					return true
				}
			}
			return false
		})
	}
	if st := c.wardState(real, "phuong-1"); st.State != "finished" || st.Rejections != 1 {
		t.Fatalf("the real alert after its replay: %+v", st)
	}
	// Every forged alert was reported refused above; the real one is
	// logged once it has played, and nothing else is.
	waitUntil(t, "the real alert logged", 15*time.Second, func() bool { return len(alertRows(t, a.data)) > 0 })
	if rows := alertRows(t, a.data); len(rows) != 1 || rows[0].Program != real {
		t.Fatalf("as-run: %+v", rows)
	}

	// A ward's own key (the station stopped: a second login with its key
	// would close the station's connection, TestWardKeyCopied).
	a.stop()
	var mu sync.Mutex
	var refusals []string
	w, err := natsbus.Dial(natsbus.ConnOptions{URLs: c.natsURL, Seed: c.seeds["phuong-1"], InboxPrefix: natsbus.InboxPrefix("phuong-1")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Conn.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		mu.Lock()
		refusals = append(refusals, err.Error())
		mu.Unlock()
	})
	waitUntil(t, "the ward key connected", 5*time.Second, w.Conn.IsConnected)
	before := msgs(t, stream)
	w.Conn.Publish(natsbus.AlertAll, copyOfReal.Data)
	w.Conn.Publish(natsbus.AlertWard("phuong-2"), copyOfReal.Data)
	w.Conn.SubscribeSync(natsbus.AlertWard("phuong-2"))
	w.Conn.SubscribeSync(natsbus.InboxPrefix("phuong-2") + ".>")
	w.Conn.Flush()
	wjs, _ := jetstream.New(w.Conn)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = wjs.Consumer(cctx, natsbus.StreamAlerts, natsbus.Consumer("phuong-2"))
	cancel()
	if err == nil {
		t.Fatal("phuong-1's key read phuong-2's consumer")
	}
	for _, want := range []string{
		`Permissions Violation for Publish to "loa.alert.all"`,
		`Permissions Violation for Publish to "loa.alert.ward.phuong-2"`,
		`Permissions Violation for Subscription to "loa.alert.ward.phuong-2"`,
		`Permissions Violation for Subscription to "_INBOX_phuong-2.>"`,
		`Permissions Violation for Publish to "$JS.API.CONSUMER.INFO.ALERTS.ward-phuong-2"`,
	} {
		waitUntil(t, "the server's refusal: "+want, 5*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range refusals {
				if strings.Contains(r, want) {
					return true
				}
			}
			return false
		})
	}
	if after := msgs(t, stream); after != before {
		t.Fatalf("ALERTS went from %d to %d messages", before, after)
	}
}

func msgs(t *testing.T, s jetstream.Stream) uint64 {
	t.Helper()
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
