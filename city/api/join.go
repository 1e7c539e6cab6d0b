package api

import "time"

// JoinFormat is the version of the join answer's payload. Fields are only
// ever added to it; a change that removes or redefines one bumps it.
const JoinFormat = 1

// JoinRequest is the body of POST /api/v1/join. Unknown fields are ignored,
// so that newer agents can say more.
type JoinRequest struct {
	Code string `json:"code"`
	// Hostname and AgentVersion are logged, to tell stations apart.
	Hostname     string `json:"hostname,omitempty"`
	AgentVersion string `json:"agent_version,omitempty"`
}

// JoinCredentials is what a ward receives for a valid code, as the payload
// of a signing.Envelope signed with the city's key. Clients ignore fields
// they do not know (NATS credentials will be added here).
type JoinCredentials struct {
	Format    int       `json:"format"`
	Ward      string    `json:"ward"`
	Groups    []string  `json:"groups"`
	Token     string    `json:"token"`
	PublicKey string    `json:"public_key"`
	KeyID     string    `json:"key_id"`
	Timezone  string    `json:"timezone"`
	Issued    time.Time `json:"issued"`
	// NATS is where the ward's alert link connects, NATSKey its key (a
	// new one: the previous stops working). Empty when the city runs
	// without NATS.
	NATS    string `json:"nats,omitempty"`
	NATSKey string `json:"nats_key,omitempty"`
	// TLSPin is the key pin of the certificate the city serves HTTPS and
	// NATS with (signing.SPKIPin), when it serves TLS itself: the ward
	// checks that the connection it joined over had this key, and pins
	// it.
	TLSPin string `json:"tls_pin,omitempty"`
	// NATSTLSPin is the key pin of the NATS servers' certificate: the
	// city's own with nats.tls, else nats.tls_pin.
	NATSTLSPin string `json:"nats_tls_pin,omitempty"`
}
