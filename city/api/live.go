package api

import "time"

// NewLive is POST /api/v1/live.
type NewLive struct {
	To     string  `json:"to"`
	Stream string  `json:"stream"`
	Mode   string  `json:"mode,omitempty"`    // duck (default) | exclusive
	DuckDB float64 `json:"duck_db,omitempty"` // default -15
	Title  string  `json:"title,omitempty"`
	// ExpiresS bounds the session (default 2 h): a stream left on by
	// mistake ends by itself.
	ExpiresS float64 `json:"expires_s,omitempty"`
}

// Live is a live announcement in the API.
type Live struct {
	ID      string    `json:"id"`
	To      string    `json:"to"`
	Stream  string    `json:"stream"`
	Mode    string    `json:"mode"`
	DuckDB  float64   `json:"duck_db,omitempty"`
	Title   string    `json:"title,omitempty"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	Wards   int       `json:"wards"`
	By      string    `json:"by"`
}
