package city

import (
	"encoding/json"
	"net/http"

	"loa/city/api"
	"loa/schedule"
	"loa/signing"
)

// TimeResponse is GET /api/v1/time without a nonce: the city's clock,
// unsigned. Agents of this version never use it (an unsigned time can be
// rewritten on the way); it stays for older agents and for people.
type TimeResponse struct {
	UnixNano int64 `json:"unix_ns"`
}

// getTime is the reference clock of wards that have no NTP. With
// ?nonce=N (16–64 hex digits) the answer is a signing.Envelope over an
// api.SignedTime holding the nonce: a ward verifies it with the city key
// it was given at join, and an answer recorded earlier does not carry its
// fresh nonce.
func (c *City) getTime(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	now := c.Now()
	if !r.URL.Query().Has("nonce") {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(TimeResponse{UnixNano: now.UnixNano()})
		return
	}
	nonce := r.URL.Query().Get("nonce")
	if !api.ValidTimeNonce(nonce) {
		writeError(w, http.StatusBadRequest, "nonce: %q: cần 16–64 chữ số hex / want 16 to 64 lower-case hex digits", nonce)
		return
	}
	payload, err := json.Marshal(api.SignedTime{Kind: api.TimeKind, UnixNano: now.UnixNano(), Nonce: nonce})
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, signing.Sign(c.key, payload))
}

// Today is the current date in the city's zone.
func (c *City) Today() schedule.Date { return schedule.DateOf(c.Now().In(c.loc)) }
