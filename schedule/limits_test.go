package schedule

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// programs writes n programs of items each (one a line: the line of
// program i is 2+(items+3)*i when items are one a line).
func programsYAML(n, items int) string {
	var b strings.Builder
	b.WriteString("programs:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - id: p%d\n    cron: \"%d %d * * *\"\n    items:\n", i, i%60, (i/60)%24)
		for j := 0; j < items; j++ {
			b.WriteString("      - a.mp3\n")
		}
	}
	return b.String()
}

// The limits of a program file, with the exact messages an operator sees
// (Vietnamese / English, at the line where the limit is crossed).
func TestParseLimits(t *testing.T) {
	many := func(n int) string { return strings.Repeat("      - a.mp3\n", n) }
	tests := []struct {
		name string
		src  string
		want []string // nil: valid
	}{
		{"at the program limit", programsYAML(MaxPrograms, 1), nil},
		{"one program too many", programsYAML(MaxPrograms+1, 1), []string{
			fmt.Sprintf("f.yaml:%d: quá nhiều chương trình / too many programs: %d, at most %d in a file", 2+4*MaxPrograms, MaxPrograms+1, MaxPrograms)}},
		{"at the item limit", programsYAML(1, MaxItems), nil},
		{"one item too many", programsYAML(1, MaxItems+1), []string{
			fmt.Sprintf("f.yaml:%d: items: quá nhiều tệp / too many media: %d, at most %d in a program", 5+MaxItems, MaxItems+1, MaxItems)}},
		{"fallback too long", "programs:\n  - id: vov\n    cron: \"0 6 * * *\"\n    duration: 30m\n    relay: http://127.0.0.1:8000/vov.mp3\n    fallback:\n" + many(MaxItems+1), []string{
			fmt.Sprintf("f.yaml:%d: fallback: quá nhiều tệp / too many media: %d, at most %d in a program", 7+MaxItems, MaxItems+1, MaxItems)}},
		{"references in the file", programsYAML(MaxMediaRefs/MaxItems+1, MaxItems), []string{
			fmt.Sprintf("f.yaml:%d: quá nhiều tệp trong tệp chương trình / too many media references in the file: more than %d", 2+(MaxMediaRefs/MaxItems)*(MaxItems+3)+2, MaxMediaRefs)}},
		// Aliases do not multiply past the limit: 11 programs reuse one
		// list of 1,000 items.
		{"aliased lists", "programs:\n  - id: p0\n    cron: \"0 1 * * *\"\n    items: &l\n" + many(MaxItems) +
			func() string {
				var b strings.Builder
				for i := 1; i <= MaxMediaRefs/MaxItems; i++ {
					fmt.Fprintf(&b, "  - id: p%d\n    cron: \"0 %d * * *\"\n    items: *l\n", i, i+1)
				}
				return b.String()
			}(), []string{
			fmt.Sprintf("f.yaml:%d: quá nhiều tệp trong tệp chương trình / too many media references in the file: more than %d", 2+3+MaxItems+3*(MaxMediaRefs/MaxItems-1)+2, MaxMediaRefs)}},
		{"file too large", "programs:\n" + strings.Repeat("# "+strings.Repeat("x", 1000)+"\n", MaxFileSize/1000), []string{
			fmt.Sprintf("f.yaml:1: tệp quá lớn / file too large: %d bytes, at most %d (1 MiB); split the programs over several files or targets", len("programs:\n")+1003*(MaxFileSize/1000), MaxFileSize)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.src))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("valid file refused: %.300v", err)
				}
				return
			}
			var got []string
			var el ErrorList
			if !errors.As(err, &el) {
				t.Fatalf("want an ErrorList, got %v", err)
			}
			for _, e := range el {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// ReadFile refuses a file over the limit before reading it into memory;
// LoadFile reports it as FILE:1.
func TestReadFileLimit(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, _ := os.Create(big)
	f.Truncate(10 << 20) // 10 MB, sparse
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := LoadFile(big, testMedia, time.Date(2026, 12, 1, 0, 0, 0, 0, DefaultLocation()))
	runtime.ReadMemStats(&after)
	want := big + ":1: tệp quá lớn / file too large: 10485760 bytes, at most 1048576 (1 MiB); split the programs over several files or targets"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("refusing a 10 MB file allocated %d bytes", n)
	}
	ok := filepath.Join(dir, "ok.yaml")
	os.WriteFile(ok, []byte("programs: []\n"), 0o644)
	if data, err := ReadFile(ok); err != nil || string(data) != "programs: []\n" {
		t.Fatalf("ReadFile: %q %v", data, err)
	}
}

// BenchmarkParseMaxFile: the memory the largest valid program file takes
// to read (B/op bounds what a Pi must have free to load it): MaxPrograms
// programs, MaxMediaRefs items, long titles up to MaxFileSize.
func BenchmarkParseMaxFile(b *testing.B) {
	src := programsYAML(MaxPrograms, MaxMediaRefs/MaxPrograms)
	title := strings.Repeat("x", (MaxFileSize-len(src))/MaxPrograms-20)
	src = strings.ReplaceAll(src, "    items:\n", "    title: "+title+"\n    items:\n")
	if len(src) > MaxFileSize || len(src) < MaxFileSize*9/10 {
		b.Fatalf("%d bytes", len(src))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for i := 0; i < b.N; i++ {
		if _, err := Parse("f.yaml", []byte(src)); err != nil {
			b.Fatal(err)
		}
	}
}
