package fleet

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"loa/signing"
)

// AsRunEntry is one line of a ward's broadcast log (nhật ký phát sóng) as
// shipped to the city on loa.asrun.<ward>. Times are unix ms; 0 is "none".
type AsRunEntry struct {
	Ward       string `json:"ward"`
	ID         int64  `json:"id"` // the ward's own row id
	Program    string `json:"program"`
	Source     string `json:"source,omitempty"`
	Occurrence int64  `json:"occurrence"`
	Part       int    `json:"part"`
	Item       string `json:"item"`
	Kind       string `json:"kind"`
	Planned    int64  `json:"planned"`
	Actual     int64  `json:"actual,omitempty"`
	End        int64  `json:"end,omitempty"`
	Result     string `json:"result"`
	MissedMS   int64  `json:"missed_ms,omitempty"`
	Note       string `json:"note,omitempty"`
}

// MsgID is the JetStream message id of the entry: JetStream drops a second
// copy sent within its duplicate window (a ward that lost the ack and
// ships again), and the city's table drops any later one. The planned time
// is in it so that a ward whose database was rebuilt, and whose ids start
// again at 1, is not taken for a duplicate.
func (e AsRunEntry) MsgID() string { return fmt.Sprintf("%s-%d-%d", e.Ward, e.ID, e.Planned) }

// ErrBadAsRun wraps every reason an as-run message is refused.
var ErrBadAsRun = errors.New("bad as-run entry")

// DecodeAsRun reads an as-run message and checks it came from ward.
func DecodeAsRun(data []byte, ward string) (AsRunEntry, error) {
	var e AsRunEntry
	if len(data) > 16<<10 {
		return e, fmt.Errorf("%w: %d bytes", ErrBadAsRun, len(data))
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("%w: %v", ErrBadAsRun, err)
	}
	switch {
	case e.Ward != ward:
		return e, fmt.Errorf("%w: ward %q on the subject of %q", ErrBadAsRun, e.Ward, ward)
	case e.ID <= 0 || e.Planned <= 0:
		return e, fmt.Errorf("%w: id %d, planned %d", ErrBadAsRun, e.ID, e.Planned)
	case e.Program == "" || e.Result == "":
		return e, fmt.Errorf("%w: no program or result", ErrBadAsRun)
	}
	return e, nil
}

// OpenAsRun reads an as-run message from ward: signed by the ward's
// registered key when it has one (see signing.OpenSigned), else as it
// comes. signed reports whether the key verified it.
func OpenAsRun(data []byte, ward string, key ed25519.PublicKey) (e AsRunEntry, signed bool, err error) {
	if len(data) > 24<<10 {
		return e, false, fmt.Errorf("%w: %d bytes", ErrBadAsRun, len(data))
	}
	payload, signed, err := signing.OpenSigned(data, key)
	if err != nil {
		return e, false, err
	}
	e, err = DecodeAsRun(payload, ward)
	return e, signed, err
}
