package city

import (
	"encoding/json"
	"net/http"
)

// TimeResponse is GET /api/v1/time: the city's clock, the reference for
// wards that have no NTP.
type TimeResponse struct {
	UnixNano int64 `json:"unix_ns"`
}

func (c *City) getTime(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(TimeResponse{UnixNano: c.Now().UnixNano()})
}
