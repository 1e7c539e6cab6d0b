package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"loa/alert"
	"loa/signing"
)

// The ward's key is made once, kept, and read again; a key file others can
// read is refused rather than used.
func TestLoadReceiptKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := loadReceiptKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := loadReceiptKey(dir)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("read again: %v, same key %v", err, k1.Equal(k2))
	}
	os.Chmod(filepath.Join(dir, ReceiptKeyFile), 0o644)
	if _, err := loadReceiptKey(dir); err == nil {
		t.Fatal("a key file readable by others was used")
	}
}

// With the ward's key, every receipt queued for the city is signed by it:
// it opens under the ward's public key and under no other.
func TestAlertReceiverSignsReceipts(t *testing.T) {
	e := newRxEnv(t)
	_, wardKey, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	var err error
	e.rx, err = NewAlertReceiver(AlertConfig{Ward: "phuong-1", PublicKeys: []ed25519.PublicKey{e.priv.Public().(ed25519.PublicKey)},
		DB: e.db, Media: e.media, Player: e.pl, Now: func() time.Time { return e.now }, Rejected: e.rejected, ReceiptKey: wardKey})
	if err != nil {
		t.Fatal(err)
	}
	a := e.alert("cb-khac")
	a.Targets.Wards, a.Recipients = []string{"phuong-2"}, []string{"phuong-2"}
	e.handle(e.sign(a), 1)
	q, err := e.db.QueuedReports(context.Background(), 10)
	if err != nil || len(q) != 1 {
		t.Fatalf("queued %d receipts: %v", len(q), err)
	}
	r, signed, err := alert.OpenReport(q[0].Body, wardKey.Public().(ed25519.PublicKey))
	if err != nil || !signed || r.Alert != "cb-khac" || r.State != alert.Rejected || r.Reason != alert.ReasonNotAddressed {
		t.Fatalf("receipt %+v, signed %v: %v", r, signed, err)
	}
	if _, _, err := alert.OpenReport(q[0].Body, other.Public().(ed25519.PublicKey)); !errors.Is(err, signing.ErrUnknownKey) {
		t.Fatalf("opened under another key: %v", err)
	}
}
