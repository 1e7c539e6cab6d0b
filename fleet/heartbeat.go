// Package fleet is what the city knows of its wards' health: the heartbeat
// a ward sends every 15 s, the as-run entries it ships, and the evaluation
// of a ward's state (on air, idle, silent!, late, offline, clock!, device!,
// out of sync) from them. It knows nothing of NATS, HTTP or SQLite: the
// agent and the city carry the messages, this package says what they mean.
package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Subjects. Heartbeats are core NATS (a lost one is replaced by the next);
// as-run entries go through the JetStream stream ASRUN, so that none is
// lost while a ward is offline.
const (
	HeartbeatPrefix = "loa.hb."
	AsRunPrefix     = "loa.asrun."
	AsRunStream     = "ASRUN"
)

// HeartbeatSubject is the subject ward publishes its heartbeats on.
func HeartbeatSubject(ward string) string { return HeartbeatPrefix + ward }

// AsRunSubject is the subject ward ships its as-run entries on.
func AsRunSubject(ward string) string { return AsRunPrefix + ward }

// WardOfSubject returns the ward a subject belongs to ("" if none).
func WardOfSubject(subject, prefix string) string {
	w, ok := strings.CutPrefix(subject, prefix)
	if !ok || w == "" || strings.ContainsAny(w, ".*>") {
		return ""
	}
	return w
}

// Bounds of a heartbeat's free-text fields, in bytes: they keep the
// message under 1 KB whatever a program is called or a driver says.
const (
	MaxIDBytes     = 64
	MaxTextBytes   = 48
	MaxErrorBytes  = 96
	MaxMessageSize = 4096 // a larger message is refused unread
)

// Heartbeat is what a ward says about itself, every interval (15 s by
// default) and at once when something changes (a program starts, silence
// begins, the device fails). Keys are short: 10,000 wards send 2.4 million
// a hour. docs/monitoring.md lists them.
type Heartbeat struct {
	Format  int     `json:"v"`   // 1
	Ward    string  `json:"w"`   // ward id
	Seq     uint64  `json:"seq"` // 1, 2, ... since the agent started
	Sent    int64   `json:"t"`   // unix ms, by the ward's clock
	Every   float64 `json:"iv"`  // seconds between regular heartbeats
	Version string  `json:"ver"` // loa-agent version
	Uptime  int64   `json:"up"`  // seconds since the agent started

	Clock     Clock    `json:"clk"`
	OnAir     *Playing `json:"air,omitempty"`   // nil: nothing on air
	Scheduled bool     `json:"sch,omitempty"`   // the schedule has a program now
	LevelDBFS float64  `json:"lvl"`             // peak output level, dBFS (-150: digital silence)
	Silent    float64  `json:"sil,omitempty"`   // seconds of silence on air so far (0: none)
	Device    Device   `json:"dev"`             // the audio output
	Sync      *Sync    `json:"sync,omitempty"`  // nil: no city sync configured
	DiskFree  int64    `json:"disk"`            // bytes free in the data folder
	DiskLow   bool     `json:"dlow,omitempty"`  // under the ward's floor (storage.min_free): media sync stopped
	CPUTemp   float64  `json:"temp,omitempty"`  // °C; 0: the board has no sensor
	LastStart *Start   `json:"start,omitempty"` // the latest program start
	Counters  Counter  `json:"n"`
}

// Clock is the ward's clock: where its time comes from and how far off it
// thinks it is.
type Clock struct {
	Source   string `json:"src"`           // ntp | city | config | none
	Trusted  bool   `json:"ok"`            // scheduled playback runs on it
	OffsetMS int64  `json:"off,omitempty"` // the ward's own estimate of its error
	Detail   string `json:"d,omitempty"`
}

// Playing is what plays at the ward.
type Playing struct {
	Kind  string `json:"k"` // program | alert | live (PlayingProgram, ...)
	ID    string `json:"id"`
	Title string `json:"ti,omitempty"`
	Item  string `json:"it,omitempty"`
}

// Device is the audio output's health.
type Device struct {
	OK    bool   `json:"ok"`
	Error string `json:"e,omitempty"`
}

// Sync is the ward's city sync.
type Sync struct {
	AgeS     int64 `json:"age"` // seconds since the last successful poll (-1: never)
	Manifest int64 `json:"mv"`  // manifest version in effect
}

// Start is a program start: when it was planned and how late the ward
// heard it begin (0: on time).
type Start struct {
	Program string `json:"p"`
	Planned int64  `json:"at"` // unix ms
	LateMS  int64  `json:"late"`
}

// Counter are totals since the agent started.
type Counter struct {
	Starts         int64   `json:"st"`
	LateStarts     int64   `json:"late"`
	SilenceS       float64 `json:"sil"`
	DeviceErrors   int64   `json:"dev"`
	AlertsRejected int64   `json:"rej"`
}

// Encode appends the heartbeat's JSON to dst, its text fields cut to their
// bounds.
func (h *Heartbeat) Encode(dst []byte) ([]byte, error) {
	h.Format = 1
	h.Version = Cut(h.Version, 24)
	h.Clock.Detail = Cut(h.Clock.Detail, MaxTextBytes)
	h.Device.Error = Cut(h.Device.Error, MaxErrorBytes)
	if h.OnAir != nil {
		h.OnAir.ID = Cut(h.OnAir.ID, MaxIDBytes)
		h.OnAir.Title = Cut(h.OnAir.Title, MaxTextBytes)
		h.OnAir.Item = Cut(h.OnAir.Item, MaxTextBytes)
	}
	if h.LastStart != nil {
		h.LastStart.Program = Cut(h.LastStart.Program, MaxIDBytes)
	}
	b, err := json.Marshal(h)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// ErrBadHeartbeat wraps every reason a heartbeat is refused.
var ErrBadHeartbeat = errors.New("bad heartbeat")

// DecodeHeartbeat reads a heartbeat and checks it came from ward.
func DecodeHeartbeat(data []byte, ward string) (Heartbeat, error) {
	var h Heartbeat
	if len(data) > MaxMessageSize {
		return h, fmt.Errorf("%w: %d bytes", ErrBadHeartbeat, len(data))
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return h, fmt.Errorf("%w: %v", ErrBadHeartbeat, err)
	}
	switch {
	case h.Format != 1:
		return h, fmt.Errorf("%w: format %d, want 1", ErrBadHeartbeat, h.Format)
	case h.Ward != ward:
		return h, fmt.Errorf("%w: ward %q on the subject of %q", ErrBadHeartbeat, h.Ward, ward)
	case h.Sent <= 0:
		return h, fmt.Errorf("%w: no time", ErrBadHeartbeat)
	case !(h.Every > 0 && h.Every <= 3600):
		return h, fmt.Errorf("%w: interval %g s", ErrBadHeartbeat, h.Every)
	}
	return h, nil
}

// Cut shortens s to at most n bytes without splitting a character, marking
// the cut with "…".
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	n -= len(ell)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:max(n, 0)] + ell
}

// IsSHA256 reports whether s is a sha256 in hex: a media item's name that
// no one should be shown.
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// HashPrefix is the hex sha256, or the start of one cut by Cut ("3f2a…",
// 40 hex digits at least), that item is (false: item is a name).
// Heartbeats cut an item to MaxTextBytes, so a ward that could only name
// its item by its hash sends the hash's first 45 digits.
func HashPrefix(item string) (string, bool) {
	if IsSHA256(item) {
		return item, true
	}
	h, ok := strings.CutSuffix(item, "…")
	if !ok || len(h) < 40 || len(h) > 64 {
		return "", false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return h, true
}
