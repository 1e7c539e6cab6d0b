package citybus

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/fleet"
	"loa/natsbus"
	"loa/signing"
)

var errFakeForged = fmt.Errorf("receipt: %w", signing.ErrBadSignature)

func newKey(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func testBus(a *fakeAlerting, b *fakeBoard, k *fakeKeys) *Bus {
	return New(Config{}, Services{Alerting: a, Board: b, Keys: k, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
}

func asRunMsg(ward, signer, line string) *fakeMsg {
	return &fakeMsg{subject: fleet.AsRunPrefix + ward, data: []byte(signer + "|" + line)}
}

func msgs(ms ...*fakeMsg) []jetstream.Msg {
	out := make([]jetstream.Msg, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	return out
}

// A batch of as-run lines where one came on another ward's subject
// (signed by phuong-1's key, published as phuong-2): that one is refused
// (terminated, flagged), the ward's own are stored in one transaction and
// acknowledged, a flooding ward's are dropped (acknowledged, not stored),
// and each ward's key is read once for the batch.
func TestAsRunBatchRefusesWrongWard(t *testing.T) {
	board, keys := newFakeBoard(), &fakeKeys{keys: map[string]ed25519.PublicKey{}}
	for _, w := range []string{"phuong-1", "phuong-2", "phuong-3"} {
		keys.keys[w] = newKey(t)
		board.keys[w] = keys.keys[w]
	}
	board.overQuota["phuong-3"] = true
	own1, own2 := asRunMsg("phuong-1", "phuong-1", "tin-sang"), asRunMsg("phuong-1", "phuong-1", "tin-chieu")
	wrong := asRunMsg("phuong-2", "phuong-1", "gia-mao")
	flood := asRunMsg("phuong-3", "phuong-3", "lu")
	b := testBus(&fakeAlerting{}, board, keys)
	if err := b.storeAsRun(context.Background(), msgs(own1, wrong, own2, flood)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m    *fakeMsg
		want string
	}{{own1, "ack"}, {own2, "ack"}, {wrong, "term"}, {flood, "ack"}} {
		if got := c.m.Fate(); got != c.want {
			t.Errorf("%s %q: %q, want %q", c.m.subject, c.m.data, got, c.want)
		}
	}
	if len(board.stored) != 1 {
		t.Fatalf("stored in %d transactions, want 1", len(board.stored))
	}
	var items []string
	for _, e := range board.stored[0] {
		items = append(items, e.Ward+"/"+e.Item)
	}
	if want := []string{"phuong-1/tin-sang", "phuong-1/tin-chieu"}; !slices.Equal(items, want) {
		t.Errorf("stored %v, want %v", items, want)
	}
	if want := []string{"phuong-2 asrun"}; !slices.Equal(board.refused, want) {
		t.Errorf("refused %v, want %v", board.refused, want)
	}
	if keys.lookups["phuong-1"] != 1 || keys.lookups["phuong-3"] != 0 {
		t.Errorf("key look-ups %v, want phuong-1 once and none for the flooding ward", keys.lookups)
	}
}

// When the batch cannot be stored, or a ward's key cannot be read, the
// messages are asked for again, never acknowledged.
func TestAsRunNotStoredIsDeliveredAgain(t *testing.T) {
	board := newFakeBoard()
	keys := &fakeKeys{keys: map[string]ed25519.PublicKey{"phuong-1": newKey(t)}, err: map[string]error{"phuong-2": errors.New("database locked")}}
	board.keys["phuong-1"] = keys.keys["phuong-1"]
	board.storeErr = errors.New("disk full")
	ok, nokey := asRunMsg("phuong-1", "phuong-1", "tin-sang"), asRunMsg("phuong-2", "phuong-2", "tin-sang")
	b := testBus(&fakeAlerting{}, board, keys)
	if err := b.storeAsRun(context.Background(), msgs(ok, nokey)); err == nil {
		t.Fatal("a batch not stored is no error")
	}
	if ok.Fate() != "nak" || nokey.Fate() != "nak" {
		t.Errorf("fates %q %q, want both nak", ok.Fate(), nokey.Fate())
	}
}

// Receipts: a forged one is refused and flagged, one whose ward's key is
// not readable now is asked for again, an unreadable one terminated, a
// flooding ward's is queued only to be acknowledged; the batch records
// the readable ones in one go and acknowledges the highest sequence.
func TestReceiptIntake(t *testing.T) {
	board, al := newFakeBoard(), &fakeAlerting{}
	board.overQuota["phuong-9"] = true
	b := testBus(al, board, &fakeKeys{})
	ctx := context.Background()
	report := func(ward, data string, seq uint64) *fakeMsg {
		return &fakeMsg{subject: natsbus.Report(ward), data: []byte(data), seq: seq}
	}
	good, forged, nokey, bad, flood, strange := report("phuong-1", "ok", 7), report("phuong-2", "forged", 8),
		report("phuong-3", "nokey", 9), report("phuong-4", "garbage", 10), report("phuong-9", "ok", 11),
		&fakeMsg{subject: "loa.something.else", data: []byte("ok"), seq: 12}
	for _, m := range []*fakeMsg{good, forged, nokey, bad, flood, strange} {
		b.takeReport(ctx, m)
	}
	for _, c := range []struct {
		m    *fakeMsg
		want string
	}{{good, ""}, {forged, "term"}, {nokey, "nak"}, {bad, "term"}, {flood, ""}, {strange, "term"}} {
		if got := c.m.Fate(); got != c.want {
			t.Errorf("%s %q: %q, want %q", c.m.subject, c.m.data, got, c.want)
		}
	}
	if want := []string{"phuong-2 receipt"}; !slices.Equal(board.refused, want) {
		t.Errorf("refused %v, want %v", board.refused, want)
	}
	var batch []reportMsg
	for len(b.reports) > 0 {
		batch = append(batch, <-b.reports)
	}
	if len(batch) != 2 || batch[0].drop || !batch[1].drop {
		t.Fatalf("queued %+v, want the good receipt, then the flooding ward's to drop", batch)
	}
	b.writeReports(ctx, batch)
	if len(al.recorded) != 1 || len(al.recorded[0]) != 1 || al.recorded[0][0].Ward != "phuong-1" || al.recorded[0][0].StreamSeq != 7 {
		t.Errorf("recorded %+v, want phuong-1's receipt 7 alone", al.recorded)
	}
	if good.Fate() != "" || flood.Fate() != "ack" {
		t.Errorf("fates %q %q: want only the highest sequence acknowledged (it acknowledges those before)", good.Fate(), flood.Fate())
	}

	// Not recorded: every message of the batch is delivered again.
	al.recordErr = errors.New("disk full")
	again := []*fakeMsg{report("phuong-1", "ok", 20), report("phuong-1", "ok", 21)}
	for _, m := range again {
		b.takeReport(ctx, m)
	}
	batch = batch[:0]
	for len(b.reports) > 0 {
		batch = append(batch, <-b.reports)
	}
	b.writeReports(ctx, batch)
	for _, m := range again {
		if m.Fate() != "nak" {
			t.Errorf("receipt %d not recorded: %q, want nak", m.seq, m.Fate())
		}
	}
}
