package programs

import (
	"strings"
	"testing"

	"loa/schedule"
)

// A ward's file is the programs of its targets, media by key, each named.
func TestWardFile(t *testing.T) {
	f := newFixture(t)
	f.mustAddWard(t, "phuong-1", "quan-1")
	f.mustLoad(t, "all", "test.yaml", "programs:\n  - id: sang\n    title: Bản tin sáng\n    cron: \"0 6 * * *\"\n    chime: nhac-hieu.wav\n    items: [ban-tin.wav]\n")
	f.mustLoad(t, "ward:phuong-1", "test.yaml", "programs:\n  - id: toi\n    title: Tối\n    date: 2026-05-02\n    at: \"19:30\"\n    items: [ban-tin.wav]\n")
	wf, err := f.WardFile(t.Context(), "phuong-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(wf.Media) != 2 || wf.Titles["sang"] != "Bản tin sáng" || wf.Titles["toi"] != "Tối" {
		t.Fatalf("ward file: %+v", wf)
	}
	names := []string{}
	for _, k := range wf.Media {
		names = append(names, wf.Names[k])
		if !strings.Contains(string(wf.Body), k) {
			t.Errorf("the body does not reference %s:\n%s", k, wf.Body)
		}
	}
	sameStrings(t, "names", names, []string{"nhac-hieu.wav", "ban-tin.wav"})
	// It parses back to both programs.
	pf, err := schedule.Parse("ward.yaml", wf.Body)
	if err != nil || len(pf.Programs) != 2 {
		t.Fatalf("parse: %v\n%s", err, wf.Body)
	}
	if _, err := f.WardFile(t.Context(), "nobody"); err == nil {
		t.Fatal("an unknown ward has a file")
	}
}
