package schedule

import (
	"errors"
	"testing"
	"time"
)

// anyMedia resolves every reference to a minute of audio.
type anyMedia struct{}

func (anyMedia) Resolve(_, ref string) (Media, error) {
	return Media{Key: "k:" + ref, Duration: time.Minute}, nil
}

// FuzzParse: no input makes Parse (or what follows it) panic or hang, and
// every error is an ErrorList of located errors.
func FuzzParse(f *testing.F) {
	f.Add([]byte("programs:\n  - id: a\n    cron: \"30 5 * * *\"\n    items: [a.mp3]\n"))
	for _, spec := range []string{"@daily", "@every 1h", "0 8 */2 * 1", "0 6 1,* * 7", "0 6 * * 5-7/2"} {
		f.Add([]byte("programs:\n  - id: a\n    cron: \"" + spec + "\"\n    items: [a.mp3]\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.yaml", data)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Line < 1 || e.File != "f.yaml" || e.Msg == "" {
					t.Fatalf("badly located error %+v", e)
				}
			}
			if file == nil {
				return
			}
		}
		if err := file.Resolve(anyMedia{}); err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		from := time.Date(2026, 12, 1, 0, 0, 0, 0, DefaultLocation())
		if err := file.CheckOverlaps(from); err != nil {
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("CheckOverlaps error %T", err)
			}
		}
		s := New(nil, Source{Name: "local", File: file})
		for _, o := range s.Timeline(DateOf(from)) {
			s.At(o.Start)
			o.Locate(time.Minute)
		}
		s.Next(from, 3)
		s.Displaced(DateOf(from))
	})
}
