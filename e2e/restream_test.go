package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/city/restream"
	"loa/internal/streamtest"
)

// relayState is a ward's relays as its status shows them.
func (a *agentProc) relayState() []struct {
	State string `json:"state"`
	Via   string `json:"via"`
} {
	a.t.Helper()
	code, body := a.get("/api/v1/status")
	var s struct {
		Relays []struct {
			State string `json:"state"`
			Via   string `json:"via"`
		} `json:"relays"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &s) != nil {
		a.t.Fatalf("status: %d %s", code, body)
	}
	return s.Relays
}

func (a *agentProc) relayPlaying(via string) bool {
	for _, r := range a.relayState() {
		if r.State == "playing" && strings.HasPrefix(r.Via, via) {
			return true
		}
	}
	return false
}

// Two wards relay an outside station that the city re-streams: the
// station sees one connection (the city's) while both wards play its
// tone; the mount refuses a request without a ward's token; when the
// city's pull is cut, both wards pull the station themselves within the
// documented time (before the relay's 10 s fallback), the tone plays on,
// and each as-run row says which source played.
func TestRestreamThroughTheCity(t *testing.T) {
	t.Parallel()
	up := streamtest.Start(t, streamtest.MP3Tone(t, 1000, 10))
	c := newAlertCity(t, fmt.Sprintf("restream:\n  sources:\n    - name: tinh\n      url: %s\n  linger: 2s\n", up.URL()), "phuong-1", "phuong-2")

	// The mount is the wards': no token, a person's token, a wrong token.
	mount := "http://" + c.addr + "/api/v1/restream/tinh"
	for _, tc := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {strings.TrimPrefix(c.adminCtl[1], "LOA_TOKEN="), http.StatusForbidden}, {"loaw_sai", http.StatusUnauthorized}} {
		req, _ := http.NewRequest(http.MethodGet, mount, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET the mount with token %q: %s, want %d", tc.token, resp.Status, tc.want)
		}
	}
	if n := up.Connections(restream.UserAgent); n != 0 {
		t.Fatalf("a refused request made the city pull the upstream (%d connections)", n)
	}

	// The relay's minute 20 s from now on the wards' clock (shifted, so
	// that the test does not wait for a whole minute); onAir is the same
	// instant on the system clock.
	start, offset := shiftedMinute(20 * time.Second)
	onAir := start.Add(-offset)
	prog := filepath.Join(c.dir, "tiep-song.yaml")
	os.WriteFile(prog, []byte(fmt.Sprintf("programs:\n  - id: tiep-song\n    date: %s\n    at: \"%s\"\n    duration: 30s\n    relay: %s\n",
		start.Format("2006-01-02"), start.Format("15:04"), up.URL())), 0o644)
	run(t, c.adminCtl, "loactl", "program", "load", prog, "--all")
	wavs := map[string]string{}
	var agents []*agentProc
	for _, w := range []string{"phuong-1", "phuong-2"} {
		wavs[w] = filepath.Join(c.dir, w+".wav")
		agents = append(agents, c.startWard(w, "wav:"+wavs[w], clockOffset(offset)))
	}
	for _, a := range agents {
		waitUntil(t, "the relay playing through the city", time.Until(onAir)+30*time.Second, func() bool { return a.relayPlaying("via the city's re-stream tinh") })
	}
	waitOnAir(t, 5*time.Second, agents...)
	if city, wards := up.Connections(restream.UserAgent), up.Connections("loa-agent"); city != 1 || wards != 0 {
		t.Fatalf("the station saw %d connections from the city and %d from wards, want 1 and 0", city, wards)
	}

	// The city's pull is cut: the wards pull the station themselves.
	cut := time.Now()
	up.Refuse(restream.UserAgent)
	waitUntil(t, "both wards pulling the station directly", 10*time.Second, func() bool { return up.Open("loa-agent") == 2 })
	switched := time.Since(cut)
	for _, a := range agents {
		waitUntil(t, "the direct relay playing", 10*time.Second-time.Since(cut), func() bool { return a.relayPlaying("via the city's re-stream tinh, then direct") })
	}
	t.Logf("both wards pulled the station directly %s after the city's pull was cut; playing again after %s", switched.Round(10*time.Millisecond), time.Since(cut).Round(10*time.Millisecond))
	end := onAir.Add(30 * time.Second)
	for _, a := range agents {
		waitUntil(t, "the relay's end", time.Until(end)+20*time.Second, func() bool { return len(a.relayState()) == 0 && time.Now().After(end) })
		a.stop()
	}

	for i, w := range []string{"phuong-1", "phuong-2"} {
		var row string
		for _, e := range asrun(t, agents[i].data) {
			if e.Program == "tiep-song" {
				row = fmt.Sprintf("%s | %s", e.Result, e.Note)
			}
		}
		if !strings.HasPrefix(row, "completed") || !strings.Contains(row, "via the city's re-stream tinh, then direct from the upstream") {
			t.Errorf("%s: as-run row of the relay: %q", w, row)
		}
		// The tone at the ward's output: through the city, then direct,
		// with no gap as long as the relay's 10 s fallback.
		x, rate := readWAVFile(t, wavs[w])
		ws := analyze(x, rate, 1000)
		first, last, gap, longest, tone := -1, -1, 0, 0, 0
		for k, win := range ws {
			if win.tone > 0.1 {
				if first < 0 {
					first = k
				}
				last, gap = k, 0
				tone++
			} else if first >= 0 {
				gap++
				longest = max(longest, gap)
			}
		}
		t.Logf("%s: %.1f s of tone over %.1f s, longest gap %.1f s", w, float64(tone)/10, float64(last-first+1)/10, float64(longest)/10)
		if tone < 150 || longest >= 100 {
			t.Errorf("%s: %.1f s of tone (want at least 15 of the relay's 30 s), longest gap %.1f s (want under 10)", w, float64(tone)/10, float64(longest)/10)
		}
	}
}
