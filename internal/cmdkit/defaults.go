package cmdkit

import "time"

// Defaults that more than one program writes: the agent's configuration,
// the player when a caller leaves a field zero, the offline renderer's
// flags, the city's and loactl's live announcements. Defined here once so
// that they cannot drift apart.
const (
	// DefaultMaxWait bounds how long an urgent alert waits for the item on
	// air to end (alerts.max_wait; DESIGN.md §3).
	DefaultMaxWait = 60 * time.Second
	// DefaultTargetLUFS is the station loudness every item is normalised
	// to (audio.target_lufs; BS.1770 integrated).
	DefaultTargetLUFS = -16.0
	// DefaultDuckDB is how far a live voice lowers the program under it in
	// duck mode (live.duck_db, --duck-db).
	DefaultDuckDB = -15.0
)
