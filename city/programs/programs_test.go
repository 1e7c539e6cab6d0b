package programs

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"loa/internal/cmdkit"
	"loa/manifest"
	"loa/schedule"
	"loa/signing"
	"loa/sqlite"
)

func sameStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// problems returns the messages of err, which must be a schedule.ErrorList.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var list schedule.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v (%T) is not a schedule.ErrorList", err, err)
	}
	var out []string
	for _, e := range list {
		out = append(out, e.Error())
	}
	return out
}

func (f *fixture) mustLoad(t *testing.T, target, file, yaml string) []string {
	t.Helper()
	res, err := f.Load(t.Context(), target, file, []byte(yaml), "test", false)
	if err != nil {
		t.Fatalf("load %s: %v", target, err)
	}
	return res.Changed
}

func (f *fixture) versions() map[string]int64 {
	out := map[string]int64{}
	for w, m := range f.store.state().manifests {
		out[w] = m.Version
	}
	return out
}

// unchanged fails the test if what is committed differs from before.
func (f *fixture) unchanged(t *testing.T, before *fakeState, notes int) {
	t.Helper()
	after := f.store.state()
	if len(after.sets) != len(before.sets) {
		t.Errorf("program sets %d -> %d", len(before.sets), len(after.sets))
	}
	for tg, s := range before.sets {
		if !bytes.Equal(after.sets[tg].Body, s.Body) {
			t.Errorf("programs of %s changed", tg)
		}
	}
	for w, m := range before.manifests {
		if after.manifests[w].Version != m.Version {
			t.Errorf("ward %s: manifest version %d -> %d", w, m.Version, after.manifests[w].Version)
		}
	}
	if got := f.notes.got(); len(got) != notes {
		t.Errorf("notified %v", got[notes:])
	}
}

// A group's file that clashes with another group's for a ward in both is
// refused, every clash listed against the new file's lines and naming the
// other file; nothing is stored and no ward is told.
func TestGroupClashListsEveryProblem(t *testing.T) {
	f := newFixture(t)
	f.mustAddWard(t, "phuong-1", "quan-1", "ven-song")
	f.mustAddWard(t, "phuong-2", "quan-1", "ven-song")
	f.mustAddWard(t, "phuong-3", "quan-1")
	f.mustLoad(t, "group:quan-1", "q1.yaml", "programs:\n  - id: sang\n    cron: \"0 6 * * *\"\n    items: [ban-tin.wav]\n  - id: toi\n    cron: \"0 19 * * *\"\n    items: [ban-tin.wav]\n")
	before, notes := f.store.state(), len(f.notes.got())

	_, err := f.Load(t.Context(), "group:ven-song", "vs.yaml", []byte("programs:\n  - id: song-sang\n    cron: \"0 6 * * *\"\n    items: [nhac-hieu.wav]\n  - id: trua\n    cron: \"0 12 * * *\"\n    items: [nhac-hieu.wav]\n  - id: song-toi\n    cron: \"0 19 * * 1\"\n    items: [nhac-hieu.wav]\n"), "test", false)
	sameStrings(t, "problems", problems(t, err), []string{
		`vs.yaml:2: program "song-sang" overlaps "sang" of group:quan-1 (q1.yaml line 2) on 2026-05-02 06:00–06:00:02 (Asia/Ho_Chi_Minh), in wards phuong-1 and 1 more`,
		`vs.yaml:8: program "song-toi" overlaps "toi" of group:quan-1 (q1.yaml line 5) on 2026-05-04 19:00–19:00:02 (Asia/Ho_Chi_Minh), in wards phuong-1 and 1 more`,
	})
	f.unchanged(t, before, notes)
	if _, ok, err := f.Get(t.Context(), "group:ven-song"); ok || err != nil {
		t.Errorf("group:ven-song has programs after a refused load (%v)", err)
	}
	// The same id in two groups of a ward is refused too.
	_, err = f.Load(t.Context(), "group:ven-song", "vs.yaml", []byte("programs:\n  - id: sang\n    cron: \"0 8 * * *\"\n    items: [nhac-hieu.wav]\n"), "test", false)
	sameStrings(t, "problems", problems(t, err), []string{
		`vs.yaml:2: id "sang" is also used by group:quan-1 (q1.yaml line 2), in wards phuong-1 and 1 more`,
	})
	f.unchanged(t, before, notes)

	// check=true reports the same and stores nothing either way.
	res, err := f.Load(t.Context(), "group:ven-song", "vs.yaml", []byte("programs:\n  - id: trua\n    cron: \"0 12 * * *\"\n    items: [nhac-hieu.wav]\n"), "test", true)
	if err != nil || !res.CheckOnly || res.Programs != 1 || strings.Join(res.Wards, ",") != "phuong-1,phuong-2" || len(res.Changed) != 0 {
		t.Errorf("check: %+v %v", res, err)
	}
	f.unchanged(t, before, notes)
}

// A ward joining two groups whose programs clash is refused by CheckWard,
// inside the registry's transaction: the ward is not added.
func TestCheckWardRefusesClash(t *testing.T) {
	f := newFixture(t)
	f.mustLoad(t, "group:a", "test.yaml", "programs:\n  - id: x\n    cron: \"0 6 * * *\"\n    items: [ban-tin.wav]\n")
	f.mustLoad(t, "group:b", "test.yaml", "programs:\n  - id: y\n    cron: \"0 6 * * *\"\n    items: [ban-tin.wav]\n")
	err := f.addWard(t, "moi", "a", "b")
	if err == nil || !strings.HasPrefix(err.Error(), "ward moi: the programs of its groups clash:\n") {
		t.Fatalf("err = %v", err)
	}
	sameStrings(t, "problems", problems(t, err), []string{`ward moi: programs "x" of group:a (test.yaml line 2) and "y" of group:b (test.yaml line 2) overlap on 2026-05-02 06:00–06:00:02 (Asia/Ho_Chi_Minh), in ward moi`})
	if _, ok := f.store.state().wards["moi"]; ok {
		t.Error("refused ward was added")
	}
	// In one group only it is welcome, with its first manifest.
	f.mustAddWard(t, "moi", "a")
	if v := f.versions()["moi"]; v != f.now.UnixMilli() {
		t.Errorf("first manifest version %d, want %d", v, f.now.UnixMilli())
	}
}

// A file with a bad cron and two unknown media reports the three
// problems at once, and changes nothing.
func TestBadFileReportsEveryProblem(t *testing.T) {
	f := newFixture(t)
	f.mustAddWard(t, "phuong-1")
	f.mustLoad(t, "all", "test.yaml", "programs:\n  - id: sang\n    cron: \"0 6 * * *\"\n    items: [nhac-hieu.wav]\n")
	before, notes := f.store.state(), len(f.notes.got())
	_, err := f.Load(t.Context(), "all", "sai.yaml", []byte("programs:\n  - id: a\n    cron: \"0 25 * * *\"\n    items: [khong-co.mp3]\n  - id: b\n    cron: \"0 7 * * *\"\n    items: [media/cung-khong.mp3]\n"), "test", false)
	sameStrings(t, "problems", problems(t, err), []string{
		`sai.yaml:3: bad cron "0 25 * * *": end of range (25) above maximum (23): 25`,
		`sai.yaml:4: media khong-co.mp3: not in the city's media library (upload it first: loactl media upload khong-co.mp3)`,
		`sai.yaml:7: media media/cung-khong.mp3: not in the city's media library (upload it first: loactl media upload cung-khong.mp3)`,
	})
	f.unchanged(t, before, notes)

	// Another zone, at its line.
	_, err = f.Load(t.Context(), "all", "berlin.yaml", []byte("timezone: Europe/Berlin\nprograms:\n  - id: sang\n    cron: \"0 6 * * *\"\n    items: [ban-tin.wav]\n"), "test", false)
	sameStrings(t, "problems", problems(t, err), []string{`berlin.yaml:1: timezone Europe/Berlin: the city's programs are in Asia/Ho_Chi_Minh`})
	f.unchanged(t, before, notes)

	// Targets: bad ones are bad input, an unknown ward ErrUnknownWard.
	for target, want := range map[string]func(error) bool{
		"quan-1":        cmdkit.IsBadInput,
		"group:Q":       cmdkit.IsBadInput,
		"ward:":         cmdkit.IsBadInput,
		"ward:khong-co": func(err error) bool { return errors.Is(err, ErrUnknownWard) },
	} {
		if _, err := f.Load(t.Context(), target, "x.yaml", []byte("programs:\n"), "test", false); !want(err) {
			t.Errorf("target %s: %v", target, err)
		}
	}
	f.unchanged(t, before, notes)
}

// Deleting a target's programs re-issues the manifests of the wards it
// reached, tells them, and restores what they played before.
func TestDelete(t *testing.T) {
	f := newFixture(t)
	f.mustAddWard(t, "phuong-1", "quan-1")
	f.mustAddWard(t, "phuong-2")
	f.mustLoad(t, "all", "all.yaml", "programs:\n  - id: sang\n    cron: \"0 6 * * *\"\n    items: [nhac-hieu.wav]\n")
	before := f.store.state().manifests["phuong-1"]
	sameStrings(t, "changed", f.mustLoad(t, "group:quan-1", "q1.yaml", "programs:\n  - id: tin-quan\n    cron: \"30 5 * * *\"\n    items: [ban-tin.wav]\n"), []string{"phuong-1"})
	v1 := f.versions()

	f.now = f.now.Add(time.Minute)
	res, err := f.Delete(t.Context(), "group:quan-1", "test")
	if err != nil {
		t.Fatal(err)
	}
	sameStrings(t, "wards", res.Wards, []string{"phuong-1"})
	sameStrings(t, "changed", res.Changed, []string{"phuong-1"})
	v2 := f.versions()
	if v2["phuong-1"] <= v1["phuong-1"] || v2["phuong-2"] != v1["phuong-2"] {
		t.Errorf("versions %v -> %v", v1, v2)
	}
	if after := f.store.state().manifests["phuong-1"]; after.ContentHash != before.ContentHash {
		t.Error("after delete, phuong-1's programs are not what they were")
	}
	if _, ok, _ := f.Get(t.Context(), "group:quan-1"); ok {
		t.Error("deleted programs are still there")
	}
	sameStrings(t, "notified", f.notes.got(), []string{"all [phuong-1 phuong-2]", "group:quan-1 [phuong-1]", "group:quan-1 [phuong-1]"})

	if _, err := f.Delete(t.Context(), "group:quan-1", "test"); !errors.Is(err, sqlite.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := f.Delete(t.Context(), "ward:khong-co", "test"); !errors.Is(err, ErrUnknownWard) {
		t.Errorf("delete for an unknown ward: %v", err)
	}
	if _, err := f.Delete(t.Context(), "nhom", "test"); !cmdkit.IsBadInput(err) {
		t.Errorf("delete of a bad target: %v", err)
	}
	sets, err := f.List(t.Context())
	if err != nil || len(sets) != 1 || sets[0].Target != "all" || sets[0].File != "all.yaml" || sets[0].Programs != 1 || sets[0].LoadedBy != "test" {
		t.Errorf("list: %+v %v", sets, err)
	}
}

// Manifests: a new version on every change and only then, above the
// clock's milliseconds, signed with the city's key; a new key re-issues
// them all.
func TestManifestVersionsAndSignature(t *testing.T) {
	f := newFixture(t)
	f.mustAddWard(t, "phuong-1", "quan-1")
	f.mustAddWard(t, "phuong-3")
	v0 := f.versions()
	if v0["phuong-1"] != f.now.UnixMilli() {
		t.Errorf("first version %d, want the clock's %d", v0["phuong-1"], f.now.UnixMilli())
	}
	yaml := "programs:\n  - id: tin-quan\n    title: Tin quận\n    cron: \"30 5 * * *\"\n    chime: nhac-hieu.wav\n    items: [ban-tin.wav]\n"
	sameStrings(t, "changed", f.mustLoad(t, "group:quan-1", "q1.yaml", yaml), []string{"phuong-1"})
	v1 := f.versions()
	// Same clock: previous + 1.
	if v1["phuong-1"] != v0["phuong-1"]+1 || v1["phuong-3"] != v0["phuong-3"] {
		t.Errorf("versions %v -> %v", v0, v1)
	}
	if changed := f.mustLoad(t, "group:quan-1", "q1.yaml", yaml); len(changed) != 0 {
		t.Errorf("identical load changed %v", changed)
	}

	m, ok, err := f.Manifest(t.Context(), "phuong-1", nil)
	if err != nil || !ok || m.NotModified || m.Version != v1["phuong-1"] || m.ETag != `"`+itoa(m.Version)+`"` {
		t.Fatalf("manifest %+v %v %v", m, ok, err)
	}
	var env signing.Envelope
	if err := json.Unmarshal(m.Envelope, &env); err != nil {
		t.Fatal(err)
	}
	got, err := manifest.Open(env, f.pub)
	if err != nil {
		t.Fatalf("verify with the city's public key: %v", err)
	}
	if got.Ward != "phuong-1" || got.Version != m.Version || got.Timezone != "Asia/Ho_Chi_Minh" || !got.Issued.Equal(f.now) || len(got.Media) != 2 {
		t.Errorf("manifest %+v", got)
	}
	pf, err := got.File("")
	if err != nil || len(pf.Programs) != 1 || pf.Programs[0].Title != "Tin quận" || pf.Programs[0].Chime.Ref != f.keyOf["nhac-hieu.wav"] {
		t.Errorf("programs %v %+v", err, pf)
	}
	for _, md := range got.Media {
		if md.URL != "/api/v1/media/"+md.SHA256 || f.keyOf[md.Name] != md.SHA256 {
			t.Errorf("media %+v", md)
		}
	}
	other, _, _ := ed25519GenerateKey(t)
	if _, err := manifest.Open(env, other); err == nil {
		t.Error("manifest verifies with another key")
	}
	zr, err := gzip.NewReader(bytes.NewReader(m.Gzip))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, m.Envelope) {
		t.Error("gzipped manifest differs from the plain one")
	}
	// A ward that has it gets NotModified, without the envelope.
	nm, ok, err := f.Manifest(t.Context(), "phuong-1", func(etag string) bool { return etag == m.ETag })
	if err != nil || !ok || !nm.NotModified || nm.Envelope != nil || nm.ETag != m.ETag {
		t.Errorf("not modified: %+v %v %v", nm, ok, err)
	}
	if _, ok, err := f.Manifest(t.Context(), "khong-co", nil); ok || err != nil {
		t.Errorf("manifest of an unknown ward: %v %v", ok, err)
	}

	// An hour later: the clock's milliseconds, above previous + 1.
	f.now = f.now.Add(time.Hour)
	f.mustLoad(t, "group:quan-1", "q1.yaml", strings.Replace(yaml, "30 5", "45 5", 1))
	if v := f.versions()["phuong-1"]; v != f.now.UnixMilli() {
		t.Errorf("version %d, want %d", v, f.now.UnixMilli())
	}
	// Restored from an older backup: the stored version is ahead of the
	// clock, the next one is still above it.
	st := f.store.st.manifests["phuong-1"]
	st.Version = f.now.UnixMilli() + 1e6
	f.store.st.manifests["phuong-1"] = st
	f.mustLoad(t, "group:quan-1", "q1.yaml", yaml)
	if v := f.versions()["phuong-1"]; v != st.Version+1 {
		t.Errorf("version after a restore %d, want %d", v, st.Version+1)
	}

	// Nothing out of date: RebuildAll re-issues nothing. A new key: all.
	if changed, err := f.RebuildAll(t.Context()); err != nil || len(changed) != 0 {
		t.Errorf("rebuild: %v %v", changed, err)
	}
	pub2, priv2, _ := ed25519GenerateKey(t)
	f.Signer = KeySigner(priv2)
	changed, err := f.RebuildAll(t.Context())
	sameStrings(t, "rebuilt with a new key", changed, []string{"phuong-1", "phuong-3"})
	if err != nil {
		t.Fatal(err)
	}
	m, _, _ = f.Manifest(t.Context(), "phuong-3", nil)
	json.Unmarshal(m.Envelope, &env)
	if _, err := manifest.Open(env, pub2); err != nil {
		t.Errorf("manifest after the new key: %v", err)
	}
	if f.store.st.manifests["phuong-3"].KeyID != signing.KeyID(pub2) {
		t.Error("stored key id is not the new key's")
	}
}

// The timeline of a date merges the city's, the groups' and the ward's
// programs as the ward will play them, with the displaced ones marked.
func TestTimelineOfADate(t *testing.T) {
	f := newFixture(t)
	f.mustAddWard(t, "phuong-1", "quan-1")
	f.mustLoad(t, "all", "test.yaml", "programs:\n  - id: sang\n    title: Bản tin sáng\n    cron: \"0 6 * * *\"\n    chime: nhac-hieu.wav\n    items: [ban-tin.wav]\n")
	f.mustLoad(t, "group:quan-1", "test.yaml", "programs:\n  - id: khan\n    cron: \"0 6 * * *\"\n    priority: urgent\n    items: [ban-tin.wav, nhac-hieu.wav, ban-tin.wav]\n")
	f.mustLoad(t, "ward:phuong-1", "test.yaml", "programs:\n  - id: toi\n    date: 2026-05-02\n    at: \"19:30\"\n    items: [ban-tin.wav]\n")
	d, err := schedule.ParseDate("2026-05-02")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := f.Timeline(t.Context(), "phuong-1", d)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range tl.Occurrences {
		s := o.Start.In(f.loc).Format("15:04:05") + "-" + o.End.In(f.loc).Format("15:04:05") + " " + o.Program + " " + o.Target + " " + o.Priority
		if o.Displaced {
			s += " displaced"
		}
		for _, sg := range o.Segments {
			s += " " + sg.Kind + ":" + sg.Name
		}
		got = append(got, s)
	}
	sameStrings(t, "timeline", got, []string{
		"06:00:00-06:00:06 khan group:quan-1 urgent item:ban-tin.wav item:nhac-hieu.wav item:ban-tin.wav",
		"06:00:00-06:00:04 sang all normal displaced chime:nhac-hieu.wav item:ban-tin.wav",
		"19:30:00-19:30:02 toi ward:phuong-1 normal item:ban-tin.wav",
	})
	if tl.Ward != "phuong-1" || tl.Date != "2026-05-02" || tl.Timezone != "Asia/Ho_Chi_Minh" || tl.Version != f.versions()["phuong-1"] {
		t.Errorf("timeline %+v", tl)
	}
	// The day after: only the daily ones.
	if tl, _ := f.Timeline(t.Context(), "phuong-1", d.AddDays(1)); len(tl.Occurrences) != 2 {
		t.Errorf("next day: %d occurrences", len(tl.Occurrences))
	}
	if f.Today() != schedule.DateOf(f.now) {
		t.Errorf("today %v", f.Today())
	}
	if _, err := f.Timeline(t.Context(), "khong-co", d); !errors.Is(err, sqlite.ErrNotFound) {
		t.Errorf("unknown ward: %v", err)
	}
}
