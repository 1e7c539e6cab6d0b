package audio

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestBufferedFileReadsAndSeeks: the buffer in front of the MP3 decoder
// gives the bytes the file has, at the positions the decoder seeks to,
// whichever way it seeks and whatever the sizes of its reads.
func TestBufferedFileReadsAndSeeks(t *testing.T) {
	data := make([]byte, 100_000)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := &bufferedFile{f: f, buf: make([]byte, 4096)}
	pos := int64(0)
	read := func(n int) {
		t.Helper()
		p := make([]byte, n)
		k, err := io.ReadFull(b, p)
		want := data[pos:min(pos+int64(n), int64(len(data)))]
		if !bytes.Equal(p[:k], want) || (k < n) != (err != nil) {
			t.Fatalf("read %d at %d: %d bytes (%v), not the file's", n, pos, k, err)
		}
		pos += int64(k)
	}
	seek := func(off int64, whence int) {
		t.Helper()
		got, err := b.Seek(off, whence)
		switch whence {
		case io.SeekStart:
			pos = off
		case io.SeekCurrent:
			pos += off
		case io.SeekEnd:
			pos = int64(len(data)) + off
		}
		if err != nil || got != pos {
			t.Fatalf("seek %d/%d: %d (%v); want %d", off, whence, got, err, pos)
		}
	}
	read(4)
	read(30)
	seek(0, io.SeekCurrent)
	read(5000) // more than the buffer, past what it holds
	seek(-100, io.SeekCurrent)
	read(100)
	seek(10, io.SeekStart)
	read(1)
	seek(-4, io.SeekEnd)
	read(4)
	seek(50_000, io.SeekStart)
	for range 100 {
		read(417)
	}
	if _, err := b.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("seek to -1 succeeded")
	}
	read(10) // a failed seek leaves the position where it was
	seek(0, io.SeekStart)
	read(len(data) + 1) // short at the end
}
