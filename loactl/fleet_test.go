package loactl_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"loa/city/api"
	"loa/city/citytest"
	"loa/fleet"
	"loa/loactl"
)

// heartbeat sends the city a heartbeat from ward, as its subscription
// would.
func heartbeat(t *testing.T, c *citytest.City, now time.Time, ward string, f func(h *fleet.Heartbeat)) {
	t.Helper()
	_, version, err := c.DB.Read().ManifestETag(context.Background(), ward)
	if err != nil {
		t.Fatal(err)
	}
	h := &fleet.Heartbeat{Ward: ward, Seq: uint64(now.UnixNano()), Sent: now.UnixMilli(), Every: 15, Version: "1.2.0", Uptime: 3600,
		Clock: fleet.Clock{Source: "ntp", Trusted: true}, LevelDBFS: -150, Device: fleet.Device{OK: true},
		Sync: &fleet.Sync{AgeS: 42, Manifest: version}, DiskFree: 1 << 30}
	if f != nil {
		f(h)
	}
	data, err := h.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.HeartbeatReceived(ward, data); err != nil {
		t.Fatal(err)
	}
}

// `loactl wards` lists problems first, in the station's words, with what
// plays, the level, the sync age and the version; --json has the same.
func TestWardsHealthTable(t *testing.T) {
	c, env, _ := setup(t)
	c.AddWard(t, "phuong-3")
	now := c.Now()
	heartbeat(t, c, now, "phuong-1", func(h *fleet.Heartbeat) {
		h.OnAir = &fleet.Playing{Kind: "program", ID: "ban-tin-sang", Title: "Bản tin sáng", Item: "ban-tin.mp3"}
		h.LevelDBFS = -13.2
	})
	heartbeat(t, c, now, "phuong-2", func(h *fleet.Heartbeat) {
		h.OnAir = &fleet.Playing{Kind: "program", ID: "nhac"}
		h.Silent = 14
	})
	env["LOA_TOKEN"] = c.Technician
	r := run(t, env, false, "wards")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 5 {
		t.Fatalf("wards: %+v", r)
	}
	for i, want := range []string{
		"WARD      STATE",
		"phuong-3  Mất kết nối / offline         never",
		"phuong-2  Im lặng bất thường / silent!  0s ago     nhac",
		"phuong-1  Đang phát / on air            0s ago     Bản tin sáng (ban-tin.mp3)  -13.2 dBFS",
		"3 wards, 2 with problems",
	} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d:\n%s\nwant it to begin\n%s", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[3], " 42s v") || !strings.Contains(lines[3], " 1.2.0 ") || strings.Contains(lines[3], "city v") {
		t.Errorf("sync age and version: %s", lines[3])
	}
	if !strings.Contains(lines[2], "silent on air for 14s") {
		t.Errorf("the problem is not said: %s", lines[2])
	}

	r = run(t, env, false, "wards", "--json")
	var ws []api.Ward
	if err := json.Unmarshal([]byte(r.stdout), &ws); err != nil || len(ws) != 3 {
		t.Fatalf("wards --json: %v %s", err, r.stdout)
	}
	if ws[0].ID != "phuong-3" || ws[0].Health.State != "offline" || ws[1].Health.State != "silent!" || ws[1].Health.StateVI != "Im lặng bất thường" ||
		ws[2].Health.State != "on air" || ws[2].Health.NowPlaying.ID != "ban-tin-sang" || *ws[2].Health.LevelDBFS != -13.2 {
		t.Errorf("wards --json: %s", r.stdout)
	}

	// --watch redraws until interrupted.
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	var out strings.Builder
	code := mainCtx(ctx, env, &out, "wards", "--watch", "--every", "200ms")
	if code != 0 || strings.Count(out.String(), "3 wards, 2 with problems") < 2 {
		t.Errorf("--watch: exit %d\n%s", code, out.String())
	}
	if r := run(t, env, false, "wards", "--watch", "--every", "1ms"); r.code != 2 {
		t.Errorf("--every 1ms: %+v", r)
	}
}

// `loactl asrun` prints and exports a ward's broadcast log for a day.
func TestAsRunExport(t *testing.T) {
	c, env, _ := setup(t)
	loc := c.Location()
	at := func(h, m, s int) int64 { return time.Date(2026, 5, 1, h, m, s, 0, loc).UnixMilli() }
	n, err := c.StoreAsRun(context.Background(), []fleet.AsRunEntry{
		{Ward: "phuong-1", ID: 1, Program: "ban-tin-sang", Source: "city", Occurrence: at(5, 30, 0), Part: 0, Item: "nhac-hieu.mp3", Kind: "program",
			Planned: at(5, 30, 0), Actual: at(5, 30, 0) + 12, End: at(5, 30, 20), Result: "completed"},
		{Ward: "phuong-1", ID: 2, Program: "ban-tin-sang", Source: "city", Occurrence: at(5, 30, 0), Part: 1, Item: "ban-tin, sáng.mp3", Kind: "program",
			Planned: at(5, 30, 20), Actual: at(5, 30, 23), End: at(5, 45, 0), Result: "cut", MissedMS: 4000, Note: "im lặng bất thường / silent on air 12s"},
		{Ward: "phuong-1", ID: 3, Program: "tiep-song", Occurrence: at(6, 0, 0), Item: "http://vov/1", Kind: "relay", Planned: at(6, 0, 0), Result: "missed"},
		{Ward: "phuong-1", ID: 4, Program: "hom-qua", Occurrence: at(23, 59, 0) - 86400000, Kind: "program", Planned: at(23, 59, 0) - 86400000, Result: "completed"},
		{Ward: "phuong-2", ID: 1, Program: "khac", Occurrence: at(7, 0, 0), Kind: "program", Planned: at(7, 0, 0), Result: "completed"},
	})
	if err != nil || n != 5 {
		t.Fatalf("stored %d: %v", n, err)
	}
	// Shipped again (a lost acknowledgement): nothing doubles.
	if n, err := c.StoreAsRun(context.Background(), []fleet.AsRunEntry{{Ward: "phuong-1", ID: 2, Program: "ban-tin-sang", Planned: at(5, 30, 20), Result: "cut"}}); err != nil || n != 0 {
		t.Fatalf("duplicate stored: %d %v", n, err)
	}
	env["LOA_TOKEN"] = c.Technician
	r := run(t, env, false, "asrun", "--ward", "phuong-1", "--date", "2026-05-01")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 5 {
		t.Fatalf("asrun: %+v", r)
	}
	for i, want := range []string{
		"Nhật ký phát sóng / as-run log — phuong-1, 2026-05-01 (Asia/Ho_Chi_Minh)",
		"PLANNED   ACTUAL    LATE   END       PROGRAM       ITEM               RESULT",
		"05:30:00  05:30:00  +0.0s  05:30:20  ban-tin-sang  nhac-hieu.mp3      completed",
		"05:30:20  05:30:23  +3.0s  05:45:00  ban-tin-sang  ban-tin, sáng.mp3  cut (4s missed)  im lặng bất thường",
		"06:00:00  -                -         tiep-song     http://vov/1       missed",
	} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d:\n%s\nwant it to begin\n%s", i, lines[i], want)
		}
	}
	r = run(t, env, false, "asrun", "--ward", "phuong-1", "--date", "2026-05-01", "--csv")
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("csv: %v\n%s", err, r.stdout)
	}
	if strings.Join(recs[0], ",") != "ward,planned,actual,end,late_s,program,part,item,kind,result,missed_s,note" ||
		strings.Join(recs[2], "|") != "phuong-1|2026-05-01 05:30:20|2026-05-01 05:30:23|2026-05-01 05:45:00|3.000|ban-tin-sang|1|ban-tin, sáng.mp3|program|cut|4.0|im lặng bất thường / silent on air 12s" {
		t.Errorf("csv:\n%s", r.stdout)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"asrun"}, 2, "--ward is required"},
		{[]string{"asrun", "--ward", "phuong-1", "--date", "hôm nay"}, 2, "want YYYY-MM-DD"},
		{[]string{"asrun", "--ward", "khong-co"}, 2, "ward khong-co"},
		{[]string{"asrun", "--ward", "phuong-1", "--csv", "--json"}, 2, "not both"},
	} {
		if r := run(t, env, false, tc.args...); r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %+v", tc.args, r)
		}
	}
	if r := run(t, env, false, "asrun", "--ward", "phuong-2", "--date", "2026-04-30"); r.code != 0 || !strings.Contains(r.stdout, "no entries") {
		t.Errorf("empty day: %+v", r)
	}
}

func mainCtx(ctx context.Context, env map[string]string, out *strings.Builder, args ...string) int {
	var errb strings.Builder
	return loactl.Main(ctx, args, out, &errb, loactl.Env{Getenv: func(k string) string { return env[k] }})
}
