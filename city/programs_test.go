package city_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"loa/city/api"
	"loa/city/citytest"
	"loa/manifest"
	"loa/signing"
)

// programCity is a city on 2026-05-01 10:00 (Asia/Ho_Chi_Minh) with three
// wards and two 2-second media items.
func programCity(t *testing.T) (*citytest.City, map[string]string) {
	c := citytest.New(t)
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, c.Location())
	c.Now = func() time.Time { return now }
	dir := t.TempDir()
	tokens := map[string]string{
		"phuong-1": c.AddWard(t, "phuong-1", "quan-1"),
		"phuong-2": c.AddWard(t, "phuong-2", "quan-1", "ven-song"),
		"phuong-3": c.AddWard(t, "phuong-3"),
	}
	c.Upload(t, citytest.Tone(t, dir, "nhac-hieu.wav", 2, 440), "nhac-hieu.wav")
	c.Upload(t, citytest.Tone(t, dir, "ban-tin.wav", 2, 660), "ban-tin.wav")
	return c, tokens
}

func loadErrors(t *testing.T, c *citytest.City, target, file, yaml string) []string {
	t.Helper()
	status, body := c.LoadPrograms(t, target, file, yaml)
	if status != 400 {
		t.Fatalf("load %s: %d %s, want 400", target, status, body)
	}
	var e api.Error
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	return e.Errors
}

func versions(t *testing.T, c *citytest.City) map[string]int64 {
	t.Helper()
	_, body, _ := c.Do(t, "GET", "/api/v1/wards", c.Admin, nil)
	var ws []api.Ward
	if err := json.Unmarshal(body, &ws); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, w := range ws {
		out[w.ID] = w.ManifestVersion
	}
	return out
}

func sameStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func TestProgramLoadErrors(t *testing.T) {
	c, _ := programCity(t)
	c.MustLoad(t, "all", "programs:\n  - id: sang\n    cron: \"0 6 * * *\"\n    items: [nhac-hieu.wav]\n")
	before := versions(t, c)
	_, allBody, _ := c.Do(t, "GET", "/api/v1/programs/all", c.Operator, nil)

	for _, tc := range []struct {
		name, target, file, yaml string
		want                     []string
	}{
		{"field errors", "all", "sai.yaml", "programs:\n  - id: Sang\n    cron: \"0 25 * * *\"\n    items: [ban-tin.wav]\n",
			[]string{`sai.yaml:2: id "Sang" must be lowercase letters a-z, digits and '-'`,
				`sai.yaml:3: bad cron "0 25 * * *": end of range (25) above maximum (23): 25`}},
		{"unknown media", "ward:phuong-3", "p3.yaml", "programs:\n  - id: toi\n    cron: \"0 19 * * *\"\n    chime: nhac-hieu.wav\n    items: [media/ban-tin.wav, media/khong-co.mp3]\n",
			[]string{`p3.yaml:5: media media/khong-co.mp3: not in the city's media library (upload it first: loactl media upload khong-co.mp3)`}},
		{"other time zone", "all", "berlin.yaml", "timezone: Europe/Berlin\nprograms:\n  - id: sang\n    cron: \"0 6 * * *\"\n    items: [ban-tin.wav]\n",
			[]string{`berlin.yaml:1: timezone Europe/Berlin: the city's programs are in Asia/Ho_Chi_Minh`}},
		{"overlap in the file", "group:quan-1", "q1.yaml", "programs:\n  - id: a\n    cron: \"0 7 * * *\"\n    items: [ban-tin.wav]\n  - id: b\n    cron: \"0 7 * * *\"\n    items: [ban-tin.wav]\n",
			[]string{`q1.yaml:5: programs "a" (line 2) and "b" (line 5) overlap on 2026-05-02 07:00–07:00:02 (Asia/Ho_Chi_Minh)`}},
		{"overlap with the city's programs", "group:quan-1", "q1.yaml", "programs:\n  - id: ok\n    cron: \"0 8 * * *\"\n    items: [ban-tin.wav]\n  - id: tin-quan\n    cron: \"0 6 * * 1\"\n    items: [ban-tin.wav]\n",
			[]string{`q1.yaml:5: program "tin-quan" overlaps "sang" of all (test.yaml line 2) on 2026-05-04 06:00–06:00:02 (Asia/Ho_Chi_Minh), in wards phuong-1 and 1 more`}},
		// cron as crontab(5) reads it, as on the wards: odd days that are
		// Mondays (robfig alone would clash on Sunday 3 May, an odd day).
		{"overlap on an odd Monday", "group:quan-1", "q1.yaml", "programs:\n  - id: le\n    cron: \"0 6 */2 * 1\"\n    items: [ban-tin.wav]\n",
			[]string{`q1.yaml:2: program "le" overlaps "sang" of all (test.yaml line 2) on 2026-05-11 06:00–06:00:02 (Asia/Ho_Chi_Minh), in wards phuong-1 and 1 more`}},
		{"Sunday as 7", "all", "cn.yaml", "programs:\n  - id: cn\n    cron: \"0 6 * * 7\"\n    items: [ban-tin.wav]\n",
			[]string{`cn.yaml:3: bad cron "0 6 * * 7": thứ trong tuần 7 không dùng được: Chủ nhật = 0, Thứ 2 = 1, …, Thứ 7 = 6 / ` +
				`day of week 7 is refused (in cron 7 is Sunday, but "Thứ 7" is Saturday): write Sunday (Chủ nhật) as 0 and Saturday (Thứ 7) as 6`}},
		{"id used by the city", "ward:phuong-3", "p3.yaml", "programs:\n  - id: sang\n    cron: \"0 9 * * *\"\n    items: [ban-tin.wav]\n",
			[]string{`p3.yaml:2: id "sang" is also used by all (test.yaml line 2), in ward phuong-3`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sameStrings(t, "errors", loadErrors(t, c, tc.target, tc.file, tc.yaml), tc.want)
		})
	}
	// Nothing changed.
	for w, v := range versions(t, c) {
		if before[w] != v {
			t.Errorf("ward %s: version %d -> %d after refused loads", w, before[w], v)
		}
	}
	if _, body, _ := c.Do(t, "GET", "/api/v1/programs/all", c.Operator, nil); !bytes.Equal(body, allBody) {
		t.Errorf("programs of all changed: %s", body)
	}
	if status, _, _ := c.Do(t, "GET", "/api/v1/programs/group:quan-1", c.Operator, nil); status != 404 {
		t.Errorf("group:quan-1 has programs after refused loads: %d", status)
	}

	// A different priority may overlap: the higher cuts the lower.
	c.MustLoad(t, "group:quan-1", "programs:\n  - id: khan\n    cron: \"0 6 * * *\"\n    priority: urgent\n    items: [ban-tin.wav]\n")

	for target, want := range map[string]int{"ward:khong-co": 404, "quan-1": 400, "group:Q": 400, "ward:": 400} {
		if status, body := c.LoadPrograms(t, target, "x.yaml", "programs:\n"); status != want {
			t.Errorf("target %s: %d %s, want %d", target, status, body, want)
		}
	}
}

func TestAddWardClash(t *testing.T) {
	c, _ := programCity(t)
	c.MustLoad(t, "group:a", "programs:\n  - id: x\n    cron: \"0 6 * * *\"\n    items: [ban-tin.wav]\n")
	c.MustLoad(t, "group:b", "programs:\n  - id: y\n    cron: \"0 6 * * *\"\n    items: [ban-tin.wav]\n")
	status, body, _ := c.Do(t, "POST", "/api/v1/wards", c.Admin, strings.NewReader(`{"id":"moi","groups":["a","b"]}`))
	var e api.Error
	json.Unmarshal(body, &e)
	if status != 400 {
		t.Fatalf("%d %s", status, body)
	}
	sameStrings(t, "errors", e.Errors, []string{`ward moi: programs "x" of group:a (test.yaml line 2) and "y" of group:b (test.yaml line 2) overlap on 2026-05-02 06:00–06:00:02 (Asia/Ho_Chi_Minh), in ward moi`})
	if status, _, _ := c.Do(t, "GET", "/api/v1/wards/moi", c.Admin, nil); status != 404 {
		t.Errorf("refused ward exists: %d", status)
	}
}

func fetchManifest(t *testing.T, c *citytest.City, token string) (*manifest.Manifest, string) {
	t.Helper()
	status, body, h := c.Do(t, "GET", "/api/v1/manifest", token, nil)
	if status != 200 {
		t.Fatalf("manifest: %d %s", status, body)
	}
	env, err := manifest.ReadEnvelope(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Open(env, c.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return m, h.Get("ETag")
}

func TestManifests(t *testing.T) {
	c, tok := programCity(t)
	v0 := versions(t, c)
	res := c.MustLoad(t, "group:quan-1", "programs:\n  - id: tin-quan\n    title: Tin quận\n    cron: \"30 5 * * *\"\n    chime: nhac-hieu.wav\n    items: [ban-tin.wav]\n")
	sameStrings(t, "changed", res.Changed, []string{"phuong-1", "phuong-2"})
	v1 := versions(t, c)
	if v1["phuong-1"] <= v0["phuong-1"] || v1["phuong-3"] != v0["phuong-3"] {
		t.Errorf("versions %v -> %v", v0, v1)
	}
	// The same file again changes no manifest.
	if res := c.MustLoad(t, "group:quan-1", "programs:\n  - id: tin-quan\n    title: Tin quận\n    cron: \"30 5 * * *\"\n    chime: nhac-hieu.wav\n    items: [ban-tin.wav]\n"); len(res.Changed) != 0 {
		t.Errorf("identical load changed %v", res.Changed)
	}

	m, etag := fetchManifest(t, c, tok["phuong-2"])
	if m.Ward != "phuong-2" || m.Version != v1["phuong-2"] || m.Timezone != "Asia/Ho_Chi_Minh" || etag == "" {
		t.Errorf("manifest %+v etag %s", m, etag)
	}
	f, err := m.File("")
	if err != nil || len(f.Programs) != 1 || f.Programs[0].Title != "Tin quận" {
		t.Fatalf("programs %v %+v", err, f)
	}
	names := map[string]string{}
	for _, md := range m.Media {
		names[md.Name] = md.SHA256
		if md.URL != "/api/v1/media/"+md.SHA256 {
			t.Errorf("url %s", md.URL)
		}
	}
	if f.Programs[0].Chime.Ref != names["nhac-hieu.wav"] || f.Programs[0].Items[0].Ref != names["ban-tin.wav"] || len(m.Media) != 2 {
		t.Errorf("media references %+v, media %v", f.Programs[0], names)
	}

	// Unchanged: 304 without a body.
	status, body, h := c.Do(t, "GET", "/api/v1/manifest", tok["phuong-2"], nil, "If-None-Match", etag)
	if status != 304 || len(body) != 0 || h.Get("ETag") != etag {
		t.Errorf("If-None-Match: %d, %d bytes", status, len(body))
	}
	// gzip when asked.
	status, body, h = c.Do(t, "GET", "/api/v1/manifest", tok["phuong-2"], nil, "Accept-Encoding", "gzip")
	if status != 200 || h.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %d %v", status, h)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	var env signing.Envelope
	json.Unmarshal(plain, &env)
	if _, err := manifest.Open(env, c.PublicKey()); err != nil {
		t.Errorf("gzipped manifest: %v", err)
	}

	// Renaming media later does not change what a loaded program plays,
	// nor re-issue its manifest: the name moves to new content, and the
	// old content gets another name.
	dir := t.TempDir()
	f2, _ := openFile(citytest.Tone(t, dir, "new.wav", 3, 880))
	c.Do(t, "POST", "/api/v1/media?name=ban-tin.wav&replace=true", c.Operator, f2)
	f2.Close()
	again := c.Upload(t, citytest.Tone(t, dir, "nhac-hieu.wav", 2, 440), "a-first.wav")
	if again.Created || again.SHA256 != names["nhac-hieu.wav"] || again.Names[0] != "a-first.wav" {
		t.Fatalf("alias upload %+v", again)
	}
	if m2, _ := fetchManifest(t, c, tok["phuong-2"]); m2.Version != m.Version {
		t.Errorf("renaming media re-issued the manifest")
	}
	if res, _ := c.Programs.RebuildAll(t.Context()); len(res) != 0 {
		t.Errorf("rebuild after renames re-issued %v", res)
	}

	// Another group: only its ward changes; removing it restores the set.
	res = c.MustLoad(t, "group:ven-song", "programs:\n  - id: song\n    cron: \"0 17 * * *\"\n    items: [nhac-hieu.wav]\n")
	sameStrings(t, "changed", res.Changed, []string{"phuong-2"})
	status, body, _ = c.Do(t, "DELETE", "/api/v1/programs/group:ven-song", c.Operator, nil)
	if status != 200 {
		t.Fatalf("delete: %d %s", status, body)
	}
	m3, _ := fetchManifest(t, c, tok["phuong-2"])
	if m3.Version <= m.Version || m3.Programs != m.Programs {
		t.Errorf("after delete: version %d (was %d), programs equal %v", m3.Version, m.Version, m3.Programs == m.Programs)
	}
	if status, _, _ := c.Do(t, "DELETE", "/api/v1/programs/group:ven-song", c.Operator, nil); status != 404 {
		t.Errorf("second delete: %d", status)
	}
	// The ward was seen with the version it reported.
	c.Do(t, "GET", "/api/v1/manifest", tok["phuong-1"], nil, "Loa-Manifest-Version", "7")
	_, body, _ = c.Do(t, "GET", "/api/v1/wards/phuong-1", c.Technician, nil)
	var w api.Ward
	json.Unmarshal(body, &w)
	if w.SeenVersion != 7 || w.LastSeen == nil || w.InSync {
		t.Errorf("ward %+v", w)
	}
}

func TestTimeline(t *testing.T) {
	c, _ := programCity(t)
	c.MustLoad(t, "all", "programs:\n  - id: sang\n    title: Bản tin sáng\n    cron: \"0 6 * * *\"\n    chime: nhac-hieu.wav\n    items: [ban-tin.wav]\n")
	c.MustLoad(t, "group:quan-1", "programs:\n  - id: khan\n    cron: \"0 6 * * *\"\n    priority: urgent\n    items: [ban-tin.wav, nhac-hieu.wav, ban-tin.wav]\n")
	c.MustLoad(t, "ward:phuong-1", "programs:\n  - id: toi\n    date: 2026-05-02\n    at: \"19:30\"\n    items: [ban-tin.wav]\n")
	status, body, _ := c.Do(t, "GET", "/api/v1/wards/phuong-1/timeline?date=2026-05-02", c.Technician, nil)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var tl api.Timeline
	json.Unmarshal(body, &tl)
	var got []string
	for _, o := range tl.Occurrences {
		s := o.Start.In(c.Location()).Format("15:04:05") + "-" + o.End.In(c.Location()).Format("15:04:05") + " " + o.Program + " " + o.Target + " " + o.Priority
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
	if tl.Date != "2026-05-02" || tl.Timezone != "Asia/Ho_Chi_Minh" || tl.Version == 0 {
		t.Errorf("timeline %+v", tl)
	}
	for q, want := range map[string]int{"?date=2026-02-30": 400, "?date=tomorrow": 400} {
		if status, _, _ := c.Do(t, "GET", "/api/v1/wards/phuong-1/timeline"+q, c.Technician, nil); status != want {
			t.Errorf("%s: %d", q, status)
		}
	}
	if status, _, _ := c.Do(t, "GET", "/api/v1/wards/nope/timeline", c.Technician, nil); status != 404 {
		t.Errorf("unknown ward: %d", status)
	}
}
