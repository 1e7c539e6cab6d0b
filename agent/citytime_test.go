package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/city/api"
	"loa/signing"
)

// keeperAt is a cityTimeKeeper on virtual time.
type keeperAt struct {
	*cityTimeKeeper
	wall    time.Time
	mono    time.Duration
	refused map[string]int
}

func newKeeperAt() *keeperAt {
	k := &keeperAt{wall: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), refused: map[string]int{}}
	k.cityTimeKeeper = &cityTimeKeeper{maxStep: 5 * time.Minute, every: 10 * time.Minute, log: slog.New(slog.DiscardHandler),
		refused: func(r string) { k.refused[r]++ }}
	return k
}

// after advances both clocks of the machine by d.
func (k *keeperAt) after(d time.Duration) { k.wall, k.mono = k.wall.Add(d), k.mono+d }

func (k *keeperAt) sample(off time.Duration, err error) (time.Duration, bool) {
	return k.apply(cityTimeSample{offset: off, rtt: 20 * time.Millisecond, err: err, wall: k.wall, mono: k.mono})
}

// A Pi boots days off: the first signed answer sets the clock whatever the
// step; once set, a step beyond clock_max_step is refused and reported,
// until three successive measurements agree on it.
func TestCityTimeStepBound(t *testing.T) {
	k := newKeeperAt()
	if st := k.state(ClockState{Source: "none"}, k.mono); st.Trusted {
		t.Fatalf("trusted before any measurement: %+v", st)
	}
	if off, ok := k.sample(-72*time.Hour, nil); !ok || off != -72*time.Hour {
		t.Fatalf("first measurement at boot: offset %s applied %v, want -72h applied", off, ok)
	}
	if st := k.state(ClockState{}, k.mono); !st.Trusted || st.Source != "city" || st.Problem != "" {
		t.Fatalf("after the first measurement: %+v", st)
	}
	k.after(10 * time.Minute)
	if off, ok := k.sample(-72*time.Hour+2*time.Second, nil); !ok || off != -72*time.Hour+2*time.Second {
		t.Fatalf("a small correction: offset %s applied %v", off, ok)
	}
	// The city's answer now says 25 hours later.
	for i := 1; i <= stepAgree; i++ {
		k.after(time.Minute)
		off, ok := k.sample(-47*time.Hour+2*time.Second, nil)
		if i < stepAgree {
			if ok || off != -72*time.Hour+2*time.Second {
				t.Fatalf("measurement %d of a +25h step: offset %s applied %v, want it refused", i, off, ok)
			}
			st := k.state(ClockState{}, k.mono)
			if !st.Trusted || !strings.Contains(st.Problem, "clock_max_step") || k.due() != cityTimeConfirm {
				t.Fatalf("while the step is held back: %+v, next in %s", st, k.due())
			}
			continue
		}
		if !ok || off != -47*time.Hour+2*time.Second {
			t.Fatalf("measurement %d agrees: offset %s applied %v, want applied", i, off, ok)
		}
	}
	if k.refused["step"] != stepAgree-1 {
		t.Fatalf("steps refused counted %d, want %d", k.refused["step"], stepAgree-1)
	}
	if st := k.state(ClockState{}, k.mono); st.Problem != "" {
		t.Fatalf("problem stays after the step was agreed: %q", st.Problem)
	}
}

// Disagreeing large answers (a city clock flapping, or someone with the
// key) never reach agreement.
func TestCityTimeStepsThatDisagree(t *testing.T) {
	k := newKeeperAt()
	k.sample(0, nil)
	for i, off := range []time.Duration{25 * time.Hour, -25 * time.Hour, 25 * time.Hour, 26 * time.Hour, -3 * time.Hour} {
		k.after(time.Minute)
		if got, ok := k.sample(off, nil); ok || got != 0 {
			t.Fatalf("answer %d (%s): offset %s applied %v", i, off, got, ok)
		}
	}
}

// The machine's own clock stepped (someone ran date): the city's answer
// that brings the station back is not a step of the station's clock.
func TestCityTimeMachineStepIsNotAStationStep(t *testing.T) {
	k := newKeeperAt()
	k.sample(0, nil)
	k.after(10 * time.Minute)
	k.wall = k.wall.Add(time.Hour)
	if off, ok := k.sample(-time.Hour, nil); !ok || off != -time.Hour {
		t.Fatalf("machine +1h, city says -1h: offset %s applied %v", off, ok)
	}
}

// A refused answer changes nothing, is counted by reason and shows as a
// problem; the next good answer clears it.
func TestCityTimeRefusedAnswer(t *testing.T) {
	k := newKeeperAt()
	k.sample(time.Second, nil)
	k.after(time.Minute)
	if off, ok := k.sample(0, errTimeSig); ok || off != time.Second {
		t.Fatalf("forged answer: offset %s applied %v", off, ok)
	}
	if st := k.state(ClockState{}, k.mono); !strings.Contains(st.Problem, "refused") || st.ProblemKind != "signature" || k.refused["signature"] != 1 {
		t.Fatalf("after a forged answer: %+v, counted %v", st, k.refused)
	}
	k.after(time.Minute)
	k.sample(time.Second, nil)
	if st := k.state(ClockState{}, k.mono); st.Problem != "" {
		t.Fatalf("problem after a good answer: %q", st.Problem)
	}
	k.after(cityTimeStale + time.Second)
	if st := k.state(ClockState{Source: "none"}, k.mono); st.Trusted {
		t.Fatalf("an hour-old measurement still trusted: %+v", st)
	}
}

// timeCity is a city time endpoint on loopback signing with a real key;
// rewrite, if set, changes its answer on the way (the path between).
type timeCity struct {
	priv    ed25519.PrivateKey
	mu      sync.Mutex
	rewrite func(body []byte) []byte
	last    []byte
}

func (c *timeCity) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	nonce := r.URL.Query().Get("nonce")
	if !api.ValidTimeNonce(nonce) {
		http.Error(w, "nonce", 400)
		return
	}
	payload, _ := json.Marshal(api.SignedTime{Kind: api.TimeKind, UnixNano: time.Now().UnixNano(), Nonce: nonce})
	body, _ := json.Marshal(signing.Sign(c.priv, payload))
	c.mu.Lock()
	if c.rewrite != nil {
		body = c.rewrite(body)
	}
	c.last = body
	c.mu.Unlock()
	w.Write(body)
}

// The ward's measurement refuses an answer rewritten on the way, one
// recorded and played back, one stripped of its signature, and one
// signed by another key.
func TestCityClockRefusesForgedAnswers(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	city := &timeCity{priv: priv}
	srv := httptest.NewServer(city)
	defer srv.Close()
	cc := cityClock{url: srv.URL, http: srv.Client(), now: time.Now, keys: []ed25519.PublicKey{pub}}
	off, _, err := cc.measure(context.Background())
	if err != nil || off.Abs() > time.Second {
		t.Fatalf("honest city: offset %s, err %v", off, err)
	}
	recorded := city.last
	cases := []struct {
		name    string
		rewrite func([]byte) []byte
		want    error
	}{
		{"+25h", func(b []byte) []byte {
			var env signing.Envelope
			json.Unmarshal(b, &env)
			var st api.SignedTime
			json.Unmarshal(env.Payload, &st)
			st.UnixNano += int64(25 * time.Hour)
			env.Payload, _ = json.Marshal(st)
			out, _ := json.Marshal(env)
			return out
		}, errTimeSig},
		{"replayed", func([]byte) []byte { return recorded }, errTimeNonce},
		{"unsigned", func([]byte) []byte { return []byte(`{"unix_ns": 1795654798058000000}`) }, errTimeUnsigned},
		{"other key", func(b []byte) []byte {
			_, other, _ := ed25519.GenerateKey(nil)
			var env signing.Envelope
			json.Unmarshal(b, &env)
			out, _ := json.Marshal(signing.Sign(other, env.Payload))
			return out
		}, errTimeSig},
	}
	for _, c := range cases {
		city.mu.Lock()
		city.rewrite = c.rewrite
		city.mu.Unlock()
		_, _, err := cc.measure(context.Background())
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
}
