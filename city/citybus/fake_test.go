package citybus

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"loa/city/alerting"
	"loa/fleet"
)

// fakeMsg is a JetStream message whose fate (ack, nak, term) is recorded.
type fakeMsg struct {
	subject string
	data    []byte
	seq     uint64
	stored  time.Time

	mu   sync.Mutex
	fate string // "": untouched; "ack", "nak", "term"
}

func (m *fakeMsg) set(f string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fate != "" {
		return errors.New("already " + m.fate)
	}
	m.fate = f
	return nil
}

func (m *fakeMsg) Fate() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fate
}

func (m *fakeMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: m.seq}, Timestamp: m.stored}, nil
}
func (m *fakeMsg) Data() []byte                     { return m.data }
func (m *fakeMsg) Headers() nats.Header             { return nil }
func (m *fakeMsg) Subject() string                  { return m.subject }
func (m *fakeMsg) Reply() string                    { return "" }
func (m *fakeMsg) Ack() error                       { return m.set("ack") }
func (m *fakeMsg) DoubleAck(context.Context) error  { return m.set("ack") }
func (m *fakeMsg) Nak() error                       { return m.set("nak") }
func (m *fakeMsg) NakWithDelay(time.Duration) error { return m.set("nak") }
func (m *fakeMsg) InProgress() error                { return nil }
func (m *fakeMsg) Term() error                      { return m.set("term") }
func (m *fakeMsg) TermWithReason(string) error      { return m.set("term") }

// fakeBoard is city/board as the bus sees it: budgets per ward, as-run
// lines "signed" by naming the ward whose key signs them.
type fakeBoard struct {
	board     *fleet.Board
	overQuota map[string]bool // ward → its budget is spent
	keys      map[string]ed25519.PublicKey
	storeErr  error

	mu       sync.Mutex
	refused  []string // "ward kind"
	stored   [][]fleet.AsRunEntry
	receipts []string // "ward alert state"
}

func newFakeBoard() *fakeBoard {
	return &fakeBoard{board: fleet.NewBoard(fleet.Thresholds{}, 15*time.Second), overQuota: map[string]bool{},
		keys: map[string]ed25519.PublicKey{}}
}

func (b *fakeBoard) Board() *fleet.Board                           { return b.board }
func (b *fakeBoard) Allow(ward, kind string) bool                  { return !b.overQuota[ward] }
func (b *fakeBoard) LogBad(ward, kind string) bool                 { return true }
func (b *fakeBoard) Denied(ward, kind, sub string)                 {}
func (b *fakeBoard) HeartbeatsStarted()                            {}
func (b *fakeBoard) HeartbeatsSince() time.Time                    { return time.Time{} }
func (b *fakeBoard) TakeHeartbeat(w, s string, d []byte)           {}
func (b *fakeBoard) DuplicateLogin(ward, o, n string, s time.Time) {}

func (b *fakeBoard) RefuseSigned(ward, kind string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refused = append(b.refused, ward+" "+kind)
}

// OpenAsRun reads "signer|line": the line is the ward's when key is the
// signer's own key.
func (b *fakeBoard) OpenAsRun(ward string, data []byte, key ed25519.PublicKey) (fleet.AsRunEntry, error) {
	signer, line, _ := strings.Cut(string(data), "|")
	if !b.keys[signer].Equal(key) {
		b.RefuseSigned(ward, "asrun", errors.New("not signed by the ward's key"))
		return fleet.AsRunEntry{}, errors.New("not signed by the ward's key")
	}
	return fleet.AsRunEntry{Ward: ward, Item: line}, nil
}

func (b *fakeBoard) StoreAsRun(ctx context.Context, es []fleet.AsRunEntry) (int, error) {
	if b.storeErr != nil {
		return 0, b.storeErr
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stored = append(b.stored, es)
	return len(es), nil
}

// fakeKeys are the wards' receipt keys, with the look-ups counted.
type fakeKeys struct {
	keys    map[string]ed25519.PublicKey
	err     map[string]error
	mu      sync.Mutex
	lookups map[string]int
}

func (k *fakeKeys) ReceiptKey(ctx context.Context, ward string) (ed25519.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lookups == nil {
		k.lookups = map[string]int{}
	}
	k.lookups[ward]++
	return k.keys[ward], k.err[ward]
}

// fakeAlerting is city/alerting's receipt intake: a receipt reads as
// "ok", "forged", "nokey" or anything else (unreadable).
type fakeAlerting struct {
	recordErr error

	mu       sync.Mutex
	recorded [][]alerting.Receipt
}

func (a *fakeAlerting) PublishPending(ctx context.Context) int             { return 0 }
func (a *fakeAlerting) RepeatLive(ctx context.Context)                     {}
func (a *fakeAlerting) Probed(p alerting.Probe)                            {}
func (a *fakeAlerting) Health() alerting.Health                            { return alerting.Health{} }
func (a *fakeAlerting) Problems() []string                                 { return nil }
func (a *fakeAlerting) LastReceiptSeq(ctx context.Context) (uint64, error) { return 0, nil }
func (a *fakeAlerting) SetPublisher(p alerting.Publisher)                  {}

func (a *fakeAlerting) OpenReceipt(ctx context.Context, ward string, data []byte, seq uint64) (alerting.Receipt, error) {
	switch string(data) {
	case "ok":
		return alerting.Receipt{Alert: "a-1", Ward: ward, State: "played", Verified: true, StreamSeq: seq}, nil
	case "forged":
		return alerting.Receipt{}, errFakeForged
	case "nokey":
		return alerting.Receipt{}, &alerting.KeyError{Err: errors.New("database locked")}
	}
	return alerting.Receipt{}, errors.New("unreadable")
}

func (a *fakeAlerting) RecordReceipts(ctx context.Context, reps []alerting.Receipt) error {
	if a.recordErr != nil {
		return a.recordErr
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recorded = append(a.recorded, reps)
	return nil
}
