package agent

import (
	"os"
	"path/filepath"
	"testing"
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
