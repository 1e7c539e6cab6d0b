package schedule

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchFile generates a program file of 200 programs referring to 500
// media, laid out without overlaps: program i starts at minute 7i of the
// day on its days of the week and plays two or three 1-2 minute items.
func benchFile() ([]byte, mapResolver) {
	media := mapResolver{}
	var b strings.Builder
	b.WriteString("timezone: Asia/Ho_Chi_Minh\nprograms:\n")
	dows := []string{"*", "1-5", "6,0", "*/2", "1,3,5"}
	ref := 0
	for i := 0; i < 200; i++ {
		start := 7 * i
		fmt.Fprintf(&b, "  - id: chuong-trinh-%03d\n    title: Chương trình %d\n", i, i)
		fmt.Fprintf(&b, "    cron: \"%d %d * * %s\"\n", start%60, start/60, dows[i%len(dows)])
		fmt.Fprintf(&b, "    volume: %d\n    items:\n", 50+i%50)
		n := 2 + i%2 // 100 programs with 2 items, 100 with 3: 250 + 250 = 500
		if i%2 == 1 {
			n = 3
		}
		for j := 0; j < n; j++ {
			name := fmt.Sprintf("media/ban-tin-%03d.mp3", ref)
			media[name] = time.Minute + time.Duration(ref%60)*time.Second
			fmt.Fprintf(&b, "      - %s\n", name)
			ref++
		}
	}
	return []byte(b.String()), media
}

func BenchmarkLoad(b *testing.B) {
	data, media := benchFile()
	if n := strings.Count(string(data), "media/"); n != 500 {
		b.Fatalf("%d media refs", n)
	}
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, DefaultLocation())
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse("bench.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Resolve(media); err != nil {
			b.Fatal(err)
		}
		if err := f.CheckOverlaps(from); err != nil {
			b.Fatal(err)
		}
	}
}

// The three steps of BenchmarkLoad apart.
func BenchmarkLoadSteps(b *testing.B) {
	data, media := benchFile()
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, DefaultLocation())
	parsed := func() *File {
		f, err := Parse("bench.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parsed()
		}
	})
	b.Run("resolve", func(b *testing.B) {
		f := parsed()
		b.ReportAllocs()
		for b.Loop() {
			if err := f.Resolve(media); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("overlaps", func(b *testing.B) {
		f := parsed()
		if err := f.Resolve(media); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := f.CheckOverlaps(from); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The same, plus an urgent 30-second program every minute: 527,040 more
// occurrences to merge.
func BenchmarkLoadEveryMinute(b *testing.B) {
	data, media := benchFile()
	data = append(data, "  - id: moi-phut\n    cron: \"* * * * *\"\n    priority: urgent\n    items: [media/30s.mp3]\n"...)
	media["media/30s.mp3"] = 30 * time.Second
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, DefaultLocation())
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse("bench.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Resolve(media); err != nil {
			b.Fatal(err)
		}
		if err := f.CheckOverlaps(from); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSchedule(b *testing.B) *Schedule {
	data, media := benchFile()
	f, err := Parse("bench.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Resolve(media); err != nil {
		b.Fatal(err)
	}
	return New(nil, Source{Name: "local", File: f})
}

// Timeline of a cached day (a copy of ~150 occurrences).
func BenchmarkTimeline(b *testing.B) {
	s := benchSchedule(b)
	d := Date{2026, time.December, 1}
	s.Timeline(d)
	b.ReportAllocs()
	for b.Loop() {
		if len(s.Timeline(d)) == 0 {
			b.Fatal("empty")
		}
	}
}

// Computing a day's timeline from the programs (a cache miss).
func BenchmarkTimelineUncached(b *testing.B) {
	s := benchSchedule(b)
	d := Date{2026, time.December, 1}
	b.ReportAllocs()
	for b.Loop() {
		if len(s.build(d).occ) == 0 {
			b.Fatal("empty")
		}
	}
}

// At over a day, second by second steps of 97 s (cache warm).
func BenchmarkAt(b *testing.B) {
	s := benchSchedule(b)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, DefaultLocation())
	s.At(t0)
	s.At(t0.Add(24 * time.Hour))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.At(t0.Add(time.Duration(i%890) * 97 * time.Second))
		i++
	}
}

func BenchmarkAtParallel(b *testing.B) {
	s := benchSchedule(b)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, DefaultLocation())
	s.At(t0)
	s.At(t0.Add(24 * time.Hour))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.At(t0.Add(time.Duration(i%890) * 97 * time.Second))
			i++
		}
	})
}
