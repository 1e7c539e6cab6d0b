package fleet

import (
	"fmt"
	"time"
)

// State is a ward's state as the city sees it. The strings are the
// contract of `loactl wards --json` and GET /api/v1/wards.
type State string

const (
	// Identity: the ward's credentials are used by someone else, or what
	// it reports cannot be believed (a second login with its key, a
	// forged receipt, receipts that contradict its heartbeats). Worst of
	// all: alerts meant for it may go elsewhere.
	Identity  State = "identity!"
	Offline   State = "offline"
	DeviceBad State = "device!"
	Silent    State = "silent!"
	ClockBad  State = "clock!"
	DiskLow   State = "disk!"
	Late      State = "late"
	OutOfSync State = "out of sync"
	OnAir     State = "on air"
	Idle      State = "idle"
)

// States lists every state, worst first: the order problems are shown in.
var States = []State{Identity, Offline, DeviceBad, Silent, ClockBad, DiskLow, Late, OutOfSync, OnAir, Idle}

// Severity orders states: higher is worse; on air and idle are 0.
func (s State) Severity() int {
	for i, x := range States {
		if x == s {
			return max(len(States)-2-i, 0)
		}
	}
	return 0
}

// Problem reports whether the state needs a technician.
func (s State) Problem() bool { return s.Severity() > 0 }

// Slug is the state as a Prometheus label value.
func (s State) Slug() string {
	switch s {
	case Identity:
		return "identity"
	case Offline:
		return "offline"
	case DeviceBad:
		return "device"
	case Silent:
		return "silent"
	case ClockBad:
		return "clock"
	case DiskLow:
		return "disk"
	case Late:
		return "late"
	case OutOfSync:
		return "out_of_sync"
	case OnAir:
		return "on_air"
	case Idle:
		return "idle"
	}
	return "unknown"
}

// Vietnamese is the state in the station's words (shared/GLOSSARY.md).
func (s State) Vietnamese() string {
	switch s {
	case Identity:
		return "Nghi giả mạo trạm"
	case Offline:
		return "Mất kết nối"
	case DeviceBad:
		return "Lỗi thiết bị âm thanh"
	case Silent:
		return "Im lặng bất thường"
	case ClockBad:
		return "Lệch giờ"
	case DiskLow:
		return "Sắp đầy đĩa"
	case Late:
		return "Phát trễ"
	case OutOfSync:
		return "Chưa đồng bộ"
	case OnAir:
		return "Đang phát"
	case Idle:
		return "Nghỉ"
	}
	return string(s)
}

// Label is "Vietnamese / english", as screens show a state.
func (s State) Label() string { return s.Vietnamese() + " / " + string(s) }

// What a ward plays (Playing.Kind).
const (
	PlayingProgram = "program"
	PlayingAlert   = "alert"
	PlayingLive    = "live" // a live announcement (stream or line-in)
)

// ShownFor is the state in the station's words and in English as a screen
// shows it when the ward plays something of kind (Playing.Kind; "" for
// nothing): on air with a live announcement is "Đang phát trực tiếp /
// live", never a plain "on air" or "idle". A problem is shown as itself.
func (s State) ShownFor(kind string) (vi, en string) {
	if s == OnAir {
		switch kind {
		case PlayingLive:
			return "Đang phát trực tiếp", "live"
		case PlayingAlert:
			return "Đang phát cảnh báo", "alert"
		}
	}
	return s.Vietnamese(), string(s)
}

// LabelFor is ShownFor as "Vietnamese / english".
func (s State) LabelFor(kind string) string {
	vi, en := s.ShownFor(kind)
	return vi + " / " + en
}

// Thresholds decide the states. The zero value of a field means its
// default.
type Thresholds struct {
	// OfflineAfter is how many heartbeats may be missed: a ward is offline
	// when the last one is older than OfflineAfter intervals plus half an
	// interval of slack for the network (default 3).
	OfflineAfter float64
	// ClockMaxOffset is the clock error tolerated, by the ward's estimate
	// or the city's (default 2 s).
	ClockMaxOffset time.Duration
	// SyncGrace is how long a ward may run another manifest version than
	// the one the city issued for it. Default 10 min: a ward polls every
	// minute and must download new media over 3G before it switches (a
	// 30 MB bulletin at 0.5 Mbit/s takes 8 minutes).
	SyncGrace time.Duration
	// LateAfter: a program heard beginning later than this after its
	// planned start is a late start (default 2 s, the player's own grace
	// before it applies a program's `late` policy).
	LateAfter time.Duration
	// LateHold is how long a late start keeps the ward `late`, unless a
	// later start was on time (default 30 min).
	LateHold time.Duration
	// DiskMinFree: a ward reporting less free space than this in its data
	// folder is disk! (default 64 MB, decimal like the agent's sizes), whatever its own floor says. A
	// report of 0 bytes free is always disk!: either the disk is full or
	// the ward cannot read it, and both stop its media sync.
	DiskMinFree int64
}

// WithDefaults fills the zero fields.
func (t Thresholds) WithDefaults() Thresholds {
	if t.OfflineAfter <= 0 {
		t.OfflineAfter = 3
	}
	if t.ClockMaxOffset <= 0 {
		t.ClockMaxOffset = 2 * time.Second
	}
	if t.SyncGrace <= 0 {
		t.SyncGrace = 10 * time.Minute
	}
	if t.LateAfter <= 0 {
		t.LateAfter = 2 * time.Second
	}
	if t.LateHold <= 0 {
		t.LateHold = 30 * time.Minute
	}
	if t.DiskMinFree <= 0 {
		t.DiskMinFree = DefaultDiskMinFree
	}
	return t
}

// DefaultDiskMinFree is Thresholds.DiskMinFree's default: half the
// agent's own default floor (storage.min_free, 128 MB), so that a ward
// at its floor is seen by its own flag first.
const DefaultDiskMinFree = 64_000_000

// OfflineWindow is how long after its last heartbeat a ward sending every
// `every` is declared offline.
func (t Thresholds) OfflineWindow(every time.Duration) time.Duration {
	return time.Duration((t.OfflineAfter + 0.5) * float64(every))
}

// Observation is what the city knows of a ward when it evaluates it.
type Observation struct {
	// Heartbeat is the latest one (nil: none since the city started and
	// none stored).
	Heartbeat *Heartbeat
	// Received is when the city got it, by the city's clock. For a
	// heartbeat restored from the database after a restart, it is the
	// restart: the ward gets a full offline window to speak again.
	Received time.Time
	// CityOffset is the city's estimate of the ward clock's error (ward
	// minus city), from the heartbeats' send and receive times.
	CityOffset      time.Duration
	CityOffsetKnown bool
	// Manifest is the version the city serves the ward now (0: none) and
	// Issued when it was issued.
	Manifest int64
	Issued   time.Time
	// DefaultEvery is the interval assumed for a ward never heard from.
	DefaultEvery time.Duration
	// Alarms are identity problems still held (Board.Flag): shown first,
	// whatever the heartbeats say, offline included.
	Alarms []Problem
}

// Problem is one thing wrong with a ward, in the technicians' words.
type Problem struct {
	State  State  `json:"state"`
	Detail string `json:"detail"`
}

// Health is a ward's evaluated state: State is the worst that applies
// (on air or idle when nothing is wrong), Problems every one that applies,
// worst first.
type Health struct {
	State    State
	Problems []Problem
}

// Evaluate decides a ward's state at now.
func Evaluate(now time.Time, o Observation, th Thresholds) Health {
	th = th.WithDefaults()
	hb := o.Heartbeat
	every := o.DefaultEvery
	if hb != nil {
		every = time.Duration(hb.Every * float64(time.Second))
	}
	if every <= 0 {
		every = 15 * time.Second
	}
	ps := append([]Problem(nil), o.Alarms...)
	if hb == nil || o.Received.IsZero() {
		ps = append(ps, Problem{Offline, "no heartbeat yet / chưa nhận tín hiệu"})
		return Health{State: ps[0].State, Problems: ps}
	}
	if age := now.Sub(o.Received); age > th.OfflineWindow(every) {
		ps = append(ps, Problem{Offline, fmt.Sprintf("no heartbeat for %s", age.Round(time.Second))})
		return Health{State: ps[0].State, Problems: ps}
	}

	if !hb.Device.OK {
		ps = append(ps, Problem{DeviceBad, orText(hb.Device.Error, "audio device error")})
	}
	if hb.Silent > 0 {
		ps = append(ps, Problem{Silent, fmt.Sprintf("silent on air for %s", secs(hb.Silent))})
	}
	switch off := time.Duration(hb.Clock.OffsetMS) * time.Millisecond; {
	case !hb.Clock.Trusted:
		ps = append(ps, Problem{ClockBad, "clock not trusted: " + orText(hb.Clock.Detail, "source "+hb.Clock.Source)})
	case off.Abs() > th.ClockMaxOffset:
		ps = append(ps, Problem{ClockBad, fmt.Sprintf("clock off by %+.1f s (the ward's estimate, %s)", off.Seconds(), hb.Clock.Source)})
	case o.CityOffsetKnown && o.CityOffset.Abs() > th.ClockMaxOffset:
		ps = append(ps, Problem{ClockBad, fmt.Sprintf("clock off by %+.1f s (the city's reckoning)", o.CityOffset.Seconds())})
	}
	switch {
	case hb.DiskLow:
		// The ward's own floor (storage.min_free): its media sync has
		// stopped, and its alert records live on the reserve.
		ps = append(ps, Problem{DiskLow, fmt.Sprintf("disk almost full: %.1f MB free; media sync stopped", float64(hb.DiskFree)/1e6)})
	case hb.DiskFree <= 0:
		ps = append(ps, Problem{DiskLow, "disk full or unreadable: 0 bytes free"})
	case hb.DiskFree < th.DiskMinFree:
		ps = append(ps, Problem{DiskLow, fmt.Sprintf("disk almost full: %.1f MB free (under %.0f MB)", float64(hb.DiskFree)/1e6, float64(th.DiskMinFree)/1e6)})
	}
	if s := hb.LastStart; s != nil && time.Duration(s.LateMS)*time.Millisecond > th.LateAfter &&
		now.Sub(time.UnixMilli(s.Planned)) < th.LateHold {
		ps = append(ps, Problem{Late, fmt.Sprintf("%s started %s late (planned %s)", s.Program,
			secs(float64(s.LateMS)/1000), time.UnixMilli(s.Planned).Format("15:04"))})
	}
	if o.Manifest > 0 && now.Sub(o.Issued) > th.SyncGrace {
		have := int64(0)
		if hb.Sync != nil {
			have = hb.Sync.Manifest
		}
		if have != o.Manifest {
			ps = append(ps, Problem{OutOfSync, fmt.Sprintf("manifest v%d, the city issued v%d %s ago", have, o.Manifest,
				now.Sub(o.Issued).Round(time.Minute))})
		}
	}
	h := Health{Problems: ps}
	switch {
	case len(ps) > 0:
		h.State = ps[0].State
	case hb.OnAir != nil:
		h.State = OnAir
	default:
		h.State = Idle
	}
	return h
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func secs(s float64) string {
	return (time.Duration(s*10) * time.Second / 10).String()
}
