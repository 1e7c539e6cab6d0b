package api

import "time"

// WardHealth is a ward's health as the city sees it from its heartbeats
// (docs/monitoring.md).
type WardHealth struct {
	// State is the worst that applies: offline, device!, silent!, clock!, disk!,
	// late, out of sync; else on air or idle. StateVI is the same in the
	// station's words (Mất kết nối, Lỗi thiết bị âm thanh, ...).
	State   string    `json:"state"`
	StateVI string    `json:"state_vi"`
	Since   time.Time `json:"since"`
	// Problems are every state that applies, worst first, with what the
	// technician needs to know.
	Problems []WardProblem `json:"problems"`
	// LastHeartbeat is when the latest heartbeat arrived (null: never).
	LastHeartbeat    *time.Time `json:"last_heartbeat"`
	LastHeartbeatAge float64    `json:"last_heartbeat_age_s"`
	HeartbeatEvery   float64    `json:"heartbeat_every_s"`

	// What the latest heartbeat said (absent: none).
	Version    string      `json:"version,omitempty"`
	UptimeS    int64       `json:"uptime_s"`
	NowPlaying *NowPlaying `json:"now_playing"`
	LevelDBFS  *float64    `json:"level_dbfs"`
	SilentS    float64     `json:"silent_s"`
	Device     *WardDevice `json:"device,omitempty"`
	Clock      *WardClock  `json:"clock,omitempty"`
	Sync       WardSync    `json:"sync"`
	DiskFree   int64       `json:"disk_free"`
	CPUTempC   float64     `json:"cpu_temp_c,omitempty"`
	LastStart  *WardStart  `json:"last_start,omitempty"`
	Counters   *WardCounts `json:"counters,omitempty"`
	// NATS is what the city refused or dropped of the ward's NATS traffic
	// since the city started (absent: nothing).
	NATS *WardNATS `json:"nats,omitempty"`
}

// WardNATS is a ward's misuse of NATS as the city saw it: attempts of its
// key the server refused (the embedded server only), and messages the
// city dropped for going over the ward's budget (docs/nats.md, "Limits").
// A ward that shows either may have a stolen key (loa-city ward key ID
// issues a new one).
type WardNATS struct {
	Denied         uint64     `json:"denied"`
	LastDenied     *time.Time `json:"last_denied,omitempty"`
	LastDeniedWhat string     `json:"last_denied_what,omitempty"` // "publish loa.alert.all"
	// Dropped by kind: report, asrun, heartbeat.
	Dropped map[string]uint64 `json:"dropped"`
	// Flooding: messages dropped in the last 10 minutes, since
	// FloodingSince.
	Flooding      bool       `json:"flooding"`
	FloodingSince *time.Time `json:"flooding_since,omitempty"`
}

// WardProblem is one thing wrong with a ward.
type WardProblem struct {
	State  string `json:"state"`
	Detail string `json:"detail"`
}

// NowPlaying is what plays at a ward.
type NowPlaying struct {
	Kind  string `json:"kind"` // program | alert
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
	Item  string `json:"item,omitempty"`
}

// WardDevice is a ward's audio output.
type WardDevice struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// WardClock is a ward's clock: its own view and the city's estimate of
// its error (ward minus city).
type WardClock struct {
	Source       string `json:"source"`
	Trusted      bool   `json:"trusted"`
	OffsetMS     int64  `json:"offset_ms"`
	CityOffsetMS *int64 `json:"city_offset_ms"`
	Detail       string `json:"detail,omitempty"`
}

// WardSync is a ward's city sync: the manifest version it runs, the one
// the city issued for it, and the seconds since its last good poll (-1:
// never; null: unknown).
type WardSync struct {
	AgeS        *int64    `json:"age_s"`
	Version     int64     `json:"version"`
	CityVersion int64     `json:"city_version"`
	CityIssued  time.Time `json:"city_issued,omitempty"`
}

// WardStart is a ward's latest program start.
type WardStart struct {
	Program string    `json:"program"`
	Planned time.Time `json:"planned"`
	LateMS  int64     `json:"late_ms"`
}

// WardCounts are a ward's totals since its agent started.
type WardCounts struct {
	Starts         int64   `json:"starts"`
	LateStarts     int64   `json:"late_starts"`
	SilenceS       float64 `json:"silence_s"`
	DeviceErrors   int64   `json:"device_errors"`
	AlertsRejected int64   `json:"alerts_rejected"`
}

// AsRunRow is a line of a ward's broadcast log as the city has it
// (GET /api/v1/wards/{id}/asrun?date=YYYY-MM-DD).
type AsRunRow struct {
	Ward    string     `json:"ward"`
	Program string     `json:"program"`
	Source  string     `json:"source,omitempty"`
	Part    int        `json:"part"`
	Item    string     `json:"item"`
	Kind    string     `json:"kind"`
	Planned time.Time  `json:"planned"`
	Actual  *time.Time `json:"actual"`
	End     *time.Time `json:"end"`
	// LateMS is actual minus planned (0 when it never started).
	LateMS   int64     `json:"late_ms"`
	Result   string    `json:"result"`
	MissedS  float64   `json:"missed_s"`
	Note     string    `json:"note,omitempty"`
	Received time.Time `json:"received"`
}

// AsRunDay is a ward's broadcast log for a day.
type AsRunDay struct {
	Ward     string     `json:"ward"`
	Date     string     `json:"date"`
	Timezone string     `json:"timezone"`
	Entries  []AsRunRow `json:"entries"`
}

// WardBeat is one of a ward's recent heartbeats as the city received it
// (GET /api/v1/wards/{id}/heartbeats, newest first): when, the state the
// board judged from it, and what it said.
type WardBeat struct {
	At         time.Time   `json:"at"`
	Seq        uint64      `json:"seq"`
	State      string      `json:"state"`
	LevelDBFS  float64     `json:"level_dbfs"`
	SilentS    float64     `json:"silent_s"`
	DiskFree   int64       `json:"disk_free"`
	NowPlaying *NowPlaying `json:"now_playing"`
}
