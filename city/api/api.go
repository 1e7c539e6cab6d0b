// Package api holds the JSON shapes of loa-city's HTTP API (/api/v1/),
// shared by the server and its clients (loactl). docs/api.md describes
// every endpoint; these types are the contract.
package api

import "time"

// Error is the body of every error response. Errors lists program-file
// problems, one "FILE:LINE: message" each.
type Error struct {
	Error  string   `json:"error"`
	Errors []string `json:"errors,omitempty"`
}

// Media is an item of the media library.
type Media struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// DurationSeconds is the decoded length.
	DurationSeconds float64 `json:"duration_s"`
	// LoudnessLUFS is the BS.1770 integrated loudness; null for silence.
	LoudnessLUFS *float64 `json:"loudness_lufs"`
	TruePeakDBTP float64  `json:"true_peak_dbtp"`
	Title        string   `json:"title"`
	// Names are what program files may call it.
	Names          []string  `json:"names"`
	OriginalName   string    `json:"original_name"`
	OriginalSHA256 string    `json:"original_sha256"`
	OriginalSize   int64     `json:"original_size"`
	AddedBy        string    `json:"added_by"`
	AddedAt        time.Time `json:"added_at"`
	// Created is true in an upload's answer when the item is new, false
	// when the same content was already in the library.
	Created bool `json:"created"`
}

// Upload is a resumable upload in progress.
type Upload struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Offset int64  `json:"offset"`
	// Size is the announced total (-1: not announced).
	Size int64 `json:"size"`
}

// Ward is a registered ward station.
type Ward struct {
	ID string `json:"id"`
	// DisplayName is the ward's name with its diacritics ("Phường Bến
	// Nghé"; absent: none); Lat and Lon where its station is (absent: not
	// known). `loa-city ward set` sets them.
	DisplayName string    `json:"display_name,omitempty"`
	Lat         *float64  `json:"lat,omitempty"`
	Lon         *float64  `json:"lon,omitempty"`
	Groups      []string  `json:"groups"`
	CreatedAt   time.Time `json:"created_at"`
	// LastSeen is its last manifest request (null: never).
	LastSeen *time.Time `json:"last_seen"`
	// SeenVersion is the manifest version it had then; ManifestVersion the
	// one the city serves now. InSync: they are equal.
	SeenVersion     int64 `json:"seen_version"`
	ManifestVersion int64 `json:"manifest_version"`
	InSync          bool  `json:"in_sync"`
	// Health is its state from its heartbeats (api/fleet.go).
	Health *WardHealth `json:"health,omitempty"`
	// Token is set once, in the answer to adding the ward.
	Token string `json:"token,omitempty"`
	// NATSSeed is the ward's NATS key (city.nats_key), set once, with Token.
	NATSSeed string `json:"nats_seed,omitempty"`
	// ReceiptKeyID is the id of the key the ward signs its receipts with
	// (GET /api/v1/wards/{id} only; absent: none registered yet).
	ReceiptKeyID string `json:"receipt_key_id,omitempty"`
}

// ReceiptKey is the body and answer of PUT /api/v1/ward/receipt-key: the
// public half of the key a ward signs its receipts and as-run lines with.
type ReceiptKey struct {
	PublicKey string `json:"public_key"`
	KeyID     string `json:"key_id,omitempty"`
}

// NewWard is the body of POST /api/v1/wards.
type NewWard struct {
	ID     string   `json:"id"`
	Groups []string `json:"groups"`
}

// User is an API user.
type User struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	// Wards and Groups are the user's scope (docs/api.md, "Scope");
	// absent: the whole city.
	Wards  []string `json:"wards,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// Token is set once, in the answer to adding the user.
	Token string `json:"token,omitempty"`
}

// NewUser is the body of POST /api/v1/users.
type NewUser struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// ProgramSet is a loaded program file.
type ProgramSet struct {
	Target   string    `json:"target"`
	File     string    `json:"file"`
	Programs int       `json:"programs"`
	LoadedBy string    `json:"loaded_by"`
	LoadedAt time.Time `json:"loaded_at"`
}

// ProgramLoad answers PUT and DELETE /api/v1/programs/{target}.
type ProgramLoad struct {
	Target   string `json:"target"`
	Programs int    `json:"programs"`
	// Wards are the wards whose programs the file is part of.
	Wards []string `json:"wards"`
	// Changed are the wards that got a new manifest version.
	Changed []string `json:"changed"`
	// CheckOnly: validated, nothing changed.
	CheckOnly bool `json:"check_only"`
}

// Timeline is a ward's effective timeline for a day.
type Timeline struct {
	Ward        string       `json:"ward"`
	Date        string       `json:"date"`
	Timezone    string       `json:"timezone"`
	Version     int64        `json:"manifest_version"`
	Occurrences []Occurrence `json:"occurrences"`
}

// Occurrence is one airing of a program.
type Occurrence struct {
	Program  string    `json:"program"`
	Title    string    `json:"title"`
	Target   string    `json:"target"`
	Priority string    `json:"priority"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// Displaced: a higher-priority program covers it entirely; it never airs.
	Displaced bool      `json:"displaced"`
	Segments  []Segment `json:"segments"`
}

// Segment is a piece of an occurrence: chime, item or relay.
type Segment struct {
	Kind            string  `json:"kind"`
	SHA256          string  `json:"sha256,omitempty"`
	Name            string  `json:"name,omitempty"`
	URL             string  `json:"url,omitempty"`
	OffsetSeconds   float64 `json:"offset_s"`
	DurationSeconds float64 `json:"duration_s"`
}

// Key is the city's public signing key.
type Key struct {
	PublicKey string `json:"public_key"`
	KeyID     string `json:"key_id"`
}

// TimeKind is the "kind" of a signed time answer: it names the payload so
// that no other signed message of the city can pass for one.
const TimeKind = "loa.time/1"

// SignedTime is the payload of GET /api/v1/time?nonce=N, signed by the
// city's key (a signing.Envelope): the city's clock when it answered, and
// the ward's nonce, so that an answer recorded earlier cannot be played
// back to a ward.
type SignedTime struct {
	Kind     string `json:"kind"`
	UnixNano int64  `json:"unix_ns"`
	Nonce    string `json:"nonce"`
}

// ValidTimeNonce reports whether s is a nonce the city signs: 16 to 64
// lower-case hex digits (a ward sends 32).
func ValidTimeNonce(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
