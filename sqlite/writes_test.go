package sqlite

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// writeBytes is what this process has caused to be written to storage.
func writeBytes(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		tb.Skip("no /proc/self/io")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkAsRunWrites reports the bytes one as-run row costs the SD card:
// each is its own committed, synced transaction (a power cut keeps every
// row already logged).
func BenchmarkAsRunWrites(b *testing.B) {
	ctx := context.Background()
	db, err := OpenAgent(ctx, filepath.Join(b.TempDir(), "loa.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	planned := time.Date(2026, 11, 26, 5, 30, 0, 0, time.UTC)
	row := AsRunEntry{Program: "ban-tin-sang", Source: "city", Item: "ban-tin-sang.mp3 (3f2a9c1e)", Kind: "program", Result: "completed"}
	// Warm up past the first pages and a checkpoint.
	for i := 0; i < 2000; i++ {
		row.Planned = planned.Add(time.Duration(i) * time.Minute)
		row.Occurrence, row.Actual, row.End = row.Planned, row.Planned, row.Planned.Add(3*time.Minute)
		db.AddAsRun(ctx, row)
	}
	before := writeBytes(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		row.Planned = planned.Add(time.Duration(2000+i) * time.Minute)
		row.Occurrence, row.Actual, row.End = row.Planned, row.Planned, row.Planned.Add(3*time.Minute)
		if _, err := db.AddAsRun(ctx, row); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(writeBytes(b)-before)/float64(b.N), "bytes/row")
}
