package api

import "time"

// NewAlert is the body of POST /api/v1/alerts. Exactly one of Text, Media
// and Stream says what to play.
type NewAlert struct {
	// To is all, or a comma-separated list of ward ids and group:NAME.
	To string `json:"to"`
	// Text is spoken by the city with espeak-ng in Voice (vi,
	// vi-vn-x-central, vi-vn-x-south; default vi) at Speed words a minute
	// (80-300; default 150).
	Text  string `json:"text,omitempty"`
	Voice string `json:"voice,omitempty"`
	Speed int    `json:"speed,omitempty"`
	// Media is a media item of the library: its sha256 or name.
	Media string `json:"media,omitempty"`
	// Stream is a stream URL played for DurationS seconds.
	Stream    string  `json:"stream,omitempty"`
	DurationS float64 `json:"duration_s,omitempty"`
	// Priority is emergency or urgent (default urgent).
	Priority string `json:"priority,omitempty"`
	// Repeat (default 1), GapS (default 10), Volume (1-100 % of the
	// station's master volume; absent: 100). Volume is a pointer so that
	// 0 is told from absent: an alert at 0 would warn nobody and is refused.
	Repeat int      `json:"repeat,omitempty"`
	GapS   *float64 `json:"gap_s,omitempty"`
	Volume *int     `json:"volume,omitempty"`
	// Chime plays the city's alert chime first (default true).
	Chime *bool `json:"chime,omitempty"`
	// ExpiresS is the alert's life in seconds (default alerts.default_expires).
	ExpiresS float64 `json:"expires_s,omitempty"`
	// Status is Actual (default), Test or Exercise.
	Status string `json:"status,omitempty"`
	// Update, if set, is the id of an alert this one replaces.
	Update string `json:"update,omitempty"`
	// CAP fields (optional).
	Headline    string `json:"headline,omitempty"`
	Event       string `json:"event,omitempty"`
	Urgency     string `json:"urgency,omitempty"`
	Severity    string `json:"severity,omitempty"`
	Certainty   string `json:"certainty,omitempty"`
	Area        string `json:"area,omitempty"`
	Description string `json:"description,omitempty"`
	Instruction string `json:"instruction,omitempty"`

	// EveryH and Until repeat the alert (the practice of QĐ 18/2021:
	// "every 2 hours until replaced or cancelled"): the city re-sends it,
	// as an Update of the last one sent, every EveryH hours (0.25-24)
	// until Until (at most 7 days ahead), a cancel of any alert of the
	// series, or an Update that replaces it. Both or neither.
	EveryH float64    `json:"every_h,omitempty"`
	Until  *time.Time `json:"until,omitempty"`

	// BreakGlass sends at once an alert that needs a second person's
	// approval (alert_rules.approval.break_glass): Confirm repeats its
	// targets as given in To ("tất cả" for all) and Reason says why no
	// approver could be reached. It is recorded loudly (audit log, a
	// warning in the log, loa_city_alert_break_glass_total).
	BreakGlass bool   `json:"break_glass,omitempty"`
	Confirm    string `json:"confirm,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// AlertRepeat is an alert the city re-sends every EveryH hours until
// Until, a cancel or an Update (GET /api/v1/alerts/repeats).
type AlertRepeat struct {
	// ID is the first alert of the series, Last the latest sent.
	ID     string `json:"id"`
	SentBy string `json:"sent_by"`
	// Targets are the series' targets as asked (all, wards, group:NAME).
	Targets string    `json:"targets"`
	EveryH  float64   `json:"every_h"`
	Until   time.Time `json:"until"`
	// Next is the next re-send (only while active).
	Next *time.Time `json:"next,omitempty"`
	Last string     `json:"last"`
	Sent int        `json:"sent"`
	// State is active, ended (until reached), stopped (cancelled or
	// replaced) or failed (Reason says why).
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// Alert is an alert as sent, with where it stands at every ward it is for
// (GET /api/v1/alerts/{id}; the answer to a send or cancel).
type Alert struct {
	ID         string    `json:"id"`
	MsgType    string    `json:"msg_type"`
	References []string  `json:"references,omitempty"`
	Status     string    `json:"status"`
	Priority   string    `json:"priority"`
	Targets    string    `json:"targets"`
	Headline   string    `json:"headline,omitempty"`
	SentBy     string    `json:"sent_by"`
	Issued     time.Time `json:"issued"`
	Expires    time.Time `json:"expires"`
	// Content describes what plays: text, media, stream.
	Content AlertContent `json:"content"`
	// State: queued (not yet all in JetStream), sent, cancelled, expired.
	State string `json:"state"`
	// CancelledBy is the Cancel or Update that stopped it.
	CancelledBy string `json:"cancelled_by,omitempty"`
	// Copies is how many copies were published, Pending how many wait.
	Copies  int              `json:"copies"`
	Pending int              `json:"pending"`
	Summary AlertSummary     `json:"summary"`
	Wards   []WardAlertState `json:"wards"`
}

// AlertContent is what an alert plays.
type AlertContent struct {
	Kind      string  `json:"kind"` // text | media | stream
	Text      string  `json:"text,omitempty"`
	Voice     string  `json:"voice,omitempty"`
	SHA256    string  `json:"sha256,omitempty"`
	Stream    string  `json:"stream,omitempty"`
	DurationS float64 `json:"duration_s"`
	Chime     string  `json:"chime,omitempty"`
	Repeat    int     `json:"repeat"`
	GapS      float64 `json:"gap_s"`
	Volume    int     `json:"volume"`
}

// AlertSummary counts the wards by state.
type AlertSummary struct {
	Wards    int `json:"wards"`
	Waiting  int `json:"waiting"` // no receipt yet
	Received int `json:"received"`
	Started  int `json:"started"`
	Finished int `json:"finished"`
	// Done is how many wards are in a final state (finished, cancelled,
	// failed, rejected, skipped).
	Done      int `json:"done"`
	Failed    int `json:"failed"`
	Rejected  int `json:"rejected"`
	Cancelled int `json:"cancelled"`
	Skipped   int `json:"skipped"`
}

// WardAlertState is where an alert stands at one ward. Times are the
// ward's; latencies are from the alert's issue time by the ward's clock.
type WardAlertState struct {
	Ward   string `json:"ward"`
	State  string `json:"state"` // waiting | received | started | finished | cancelled | failed | rejected | skipped
	Reason string `json:"reason,omitempty"`
	// ReceivedMS, StartedMS, FinishedMS: milliseconds after issued (null:
	// not yet).
	ReceivedMS *int64     `json:"received_ms"`
	StartedMS  *int64     `json:"started_ms"`
	FinishedMS *int64     `json:"finished_ms"`
	FetchMS    int64      `json:"fetch_ms,omitempty"`
	Updated    *time.Time `json:"updated,omitempty"`
	// Rejections counts copies the ward refused (a replay of this alert,
	// for one).
	Rejections int `json:"rejections,omitempty"`
}

// AlertListEntry is a line of GET /api/v1/alerts.
type AlertListEntry struct {
	ID          string    `json:"id"`
	MsgType     string    `json:"msg_type"`
	Status      string    `json:"status"`
	Priority    string    `json:"priority"`
	Targets     string    `json:"targets"`
	Headline    string    `json:"headline,omitempty"`
	SentBy      string    `json:"sent_by"`
	Issued      time.Time `json:"issued"`
	Expires     time.Time `json:"expires"`
	CancelledBy string    `json:"cancelled_by,omitempty"`
}
