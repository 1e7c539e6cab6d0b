package api

// RestreamPrefix is where the city serves its re-streams to the wards:
// RestreamPrefix+NAME (GET, a ward's token).
const RestreamPrefix = "/api/v1/restream/"

// Restream is one outside stream the city pulls once and re-streams to its
// wards (GET /api/v1/restreams).
type Restream struct {
	Name string `json:"name"`
	// Upstream is the stream's own address: a ward relays Upstream
	// through Mount, and pulls Upstream itself when Mount fails.
	Upstream string `json:"upstream"`
	// Mount is the path of the city's MP3 re-stream (RestreamPrefix+Name).
	Mount string `json:"mount"`
	// Pulling: the city is pulling the upstream now (a ward listens).
	Pulling bool `json:"pulling"`
	// Listeners are the connections to the mount now.
	Listeners int `json:"listeners"`
	// Pulls counts the connections the city has made to the upstream.
	Pulls int64 `json:"pulls"`
	// Mode is "passthrough" (MP3 upstream, frames copied) or "transcode"
	// (ffmpeg to MP3), once known.
	Mode string `json:"mode,omitempty"`
	// LastError is why the last pull ended, if it failed.
	LastError string `json:"last_error,omitempty"`
}
