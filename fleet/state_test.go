package fleet

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)

// healthy is a heartbeat with nothing wrong, sent at t0 by a ward with
// manifest 7, idle.
func healthy() *Heartbeat {
	return &Heartbeat{Format: 1, Ward: "phuong-1", Seq: 10, Sent: t0.UnixMilli(), Every: 15, Version: "1.0", Uptime: 600,
		Clock: Clock{Source: "ntp", Trusted: true, OffsetMS: 3}, LevelDBFS: -150, Device: Device{OK: true},
		Sync: &Sync{AgeS: 20, Manifest: 7}, DiskFree: 5 << 30}
}

func TestEvaluate(t *testing.T) {
	with := func(f func(h *Heartbeat)) *Heartbeat { h := healthy(); f(h); return h }
	playing := func(h *Heartbeat) {
		h.OnAir = &Playing{Kind: "program", ID: "ban-tin-sang", Item: "ban-tin.mp3"}
		h.LevelDBFS = -14
	}
	obs := func(hb *Heartbeat) Observation {
		return Observation{Heartbeat: hb, Received: t0, Manifest: 7, Issued: t0.Add(-time.Hour)}
	}
	for _, tc := range []struct {
		name   string
		o      Observation
		now    time.Time
		want   State
		others []State // further problems, in order
		detail string  // in the first problem
	}{
		{name: "idle", o: obs(healthy()), now: t0.Add(time.Second), want: Idle},
		{name: "on air", o: obs(with(playing)), now: t0.Add(time.Second), want: OnAir},
		{name: "never heard from", o: Observation{Manifest: 7}, now: t0, want: Offline, detail: "no heartbeat yet"},
		{name: "2 beats missed is not offline", o: obs(with(playing)), now: t0.Add(45 * time.Second), want: OnAir},
		{name: "3 beats missed and half an interval", o: obs(with(playing)), now: t0.Add(53 * time.Second), want: Offline, detail: "no heartbeat for 53s"},
		{name: "the ward's own interval counts", o: obs(with(func(h *Heartbeat) { h.Every = 1 })), now: t0.Add(4 * time.Second), want: Offline},
		{name: "1 s beats, 3 s late is fine", o: obs(with(func(h *Heartbeat) { h.Every = 1 })), now: t0.Add(3 * time.Second), want: Idle},
		{name: "device", o: obs(with(func(h *Heartbeat) { h.Device = Device{Error: "alsa: cannot open card 9"} })), now: t0, want: DeviceBad, detail: "card 9"},
		{name: "silent on air", o: obs(with(func(h *Heartbeat) { playing(h); h.Silent = 12; h.LevelDBFS = -150 })), now: t0, want: Silent, detail: "12s"},
		{name: "device error explains the silence", o: obs(with(func(h *Heartbeat) { playing(h); h.Silent = 30; h.Device = Device{Error: "gone"} })),
			now: t0, want: DeviceBad, others: []State{Silent}},
		{name: "clock untrusted", o: obs(with(func(h *Heartbeat) { h.Clock = Clock{Source: "none", Detail: "not synchronised by NTP"} })),
			now: t0, want: ClockBad, detail: "not synchronised"},
		{name: "clock off by the ward's estimate", o: obs(with(func(h *Heartbeat) { h.Clock.OffsetMS = -2500 })), now: t0, want: ClockBad, detail: "-2.5 s"},
		{name: "clock 2 s off is tolerated", o: obs(with(func(h *Heartbeat) { h.Clock.OffsetMS = 2000 })), now: t0, want: Idle},
		{name: "clock off by the city's reckoning", o: func() Observation {
			o := obs(healthy())
			o.CityOffset, o.CityOffsetKnown = 5*time.Second, true
			return o
		}(), now: t0, want: ClockBad, detail: "+5.0 s (the city"},
		{name: "disk under the ward's floor", o: obs(with(func(h *Heartbeat) { playing(h); h.DiskFree, h.DiskLow = 0, true })),
			now: t0, want: DiskLow, detail: "disk almost full: 0.0 MB free"},
		{name: "little disk above the floor is fine", o: obs(with(func(h *Heartbeat) { h.DiskFree = 200e6 })), now: t0, want: Idle},
		{name: "0 bytes free without the ward's flag", o: obs(with(func(h *Heartbeat) { h.DiskFree = 0 })),
			now: t0, want: DiskLow, detail: "0 bytes free"},
		{name: "under the city's threshold", o: obs(with(func(h *Heartbeat) { playing(h); h.DiskFree = 10e6 })),
			now: t0, want: DiskLow, detail: "disk almost full: 10.0 MB free (under 64 MB)"},
		{name: "live is on air", o: obs(with(func(h *Heartbeat) { h.OnAir = &Playing{Kind: PlayingLive, ID: "live"}; h.LevelDBFS = -12 })),
			now: t0, want: OnAir},
		{name: "late start", o: obs(with(func(h *Heartbeat) {
			playing(h)
			h.LastStart = &Start{Program: "ban-tin-sang", Planned: t0.Add(-time.Minute).UnixMilli(), LateMS: 7400}
		})), now: t0, want: Late, detail: "ban-tin-sang started 7.4s late"},
		{name: "a start 1.5 s late is not late", o: obs(with(func(h *Heartbeat) {
			h.LastStart = &Start{Program: "p", Planned: t0.Add(-time.Minute).UnixMilli(), LateMS: 1500}
		})), now: t0, want: Idle},
		{name: "late is forgotten after its hold", o: obs(with(func(h *Heartbeat) {
			h.LastStart = &Start{Program: "p", Planned: t0.Add(-31 * time.Minute).UnixMilli(), LateMS: 60000}
		})), now: t0, want: Idle},
		{name: "behind the city past the grace", o: func() Observation {
			o := obs(healthy())
			o.Manifest, o.Issued = 8, t0.Add(-11*time.Minute)
			return o
		}(), now: t0, want: OutOfSync, detail: "manifest v7, the city issued v8 11m0s ago"},
		{name: "behind the city within the grace", o: func() Observation {
			o := obs(healthy())
			o.Manifest, o.Issued = 8, t0.Add(-9*time.Minute)
			return o
		}(), now: t0, want: Idle},
		{name: "no sync at all while the city has a manifest", o: func() Observation {
			o := obs(with(func(h *Heartbeat) { h.Sync = nil }))
			o.Issued = t0.Add(-time.Hour)
			return o
		}(), now: t0, want: OutOfSync, detail: "manifest v0"},
		{name: "no manifest at the city", o: func() Observation {
			o := obs(with(func(h *Heartbeat) { h.Sync = nil }))
			o.Manifest = 0
			return o
		}(), now: t0, want: Idle},
		{name: "everything wrong: worst first", o: func() Observation {
			o := obs(with(func(h *Heartbeat) {
				playing(h)
				h.Silent = 15
				h.Device.OK = false
				h.Clock.Trusted = false
				h.LastStart = &Start{Program: "p", Planned: t0.UnixMilli(), LateMS: 9000}
			}))
			o.Manifest = 9
			return o
		}(), now: t0, want: DeviceBad, others: []State{Silent, ClockBad, Late, OutOfSync}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Evaluate(tc.now, tc.o, Thresholds{})
			if h.State != tc.want {
				t.Fatalf("state %q, want %q (%+v)", h.State, tc.want, h.Problems)
			}
			var got []State
			for _, p := range h.Problems {
				got = append(got, p.State)
			}
			want := tc.others
			if tc.want.Problem() {
				want = append([]State{tc.want}, want...)
			}
			if strings.Join(states(got), ",") != strings.Join(states(want), ",") {
				t.Errorf("problems %v, want %v", got, want)
			}
			if tc.detail != "" && (len(h.Problems) == 0 || !strings.Contains(h.Problems[0].Detail, tc.detail)) {
				t.Errorf("detail %+v, want it to say %q", h.Problems, tc.detail)
			}
		})
	}
}

func states(s []State) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}

func TestStateWords(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range States {
		if seen[s.Slug()] || s.Slug() == "unknown" || s.Vietnamese() == string(s) {
			t.Errorf("%q: slug %q, Vietnamese %q", s, s.Slug(), s.Vietnamese())
		}
		seen[s.Slug()] = true
	}
	if Silent.Label() != "Im lặng bất thường / silent!" || !Offline.Problem() || OnAir.Problem() || Idle.Problem() {
		t.Errorf("labels: %q", Silent.Label())
	}
	for _, tc := range []struct {
		s    State
		kind string
		want string
	}{
		{OnAir, PlayingLive, "Đang phát trực tiếp / live"},
		{OnAir, PlayingAlert, "Đang phát cảnh báo / alert"},
		{OnAir, PlayingProgram, "Đang phát / on air"},
		{Idle, "", "Nghỉ / idle"},
		{Silent, PlayingLive, "Im lặng bất thường / silent!"},
	} {
		if got := tc.s.LabelFor(tc.kind); got != tc.want {
			t.Errorf("%s with %q: %q, want %q", tc.s, tc.kind, got, tc.want)
		}
	}
	if !(Offline.Severity() > DeviceBad.Severity() && DeviceBad.Severity() > Silent.Severity() && OutOfSync.Severity() > OnAir.Severity()) {
		t.Error("severity order")
	}
}
