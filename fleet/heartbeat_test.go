package fleet

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// worst is a heartbeat with every field present and every text at its
// bound, in Vietnamese (2–3 bytes a letter).
func worst() *Heartbeat {
	long := strings.Repeat("Bản tin khẩn cấp ", 20)
	return &Heartbeat{
		Ward: strings.Repeat("phuong-", 10)[:MaxIDBytes], Seq: 1<<63 - 1, Sent: time.Now().UnixMilli(), Every: 15, Version: strings.Repeat("v1.2.3-", 10),
		Uptime: 1 << 40, Clock: Clock{Source: "config", Trusted: false, OffsetMS: -123456789, Detail: long},
		OnAir:     &Playing{Kind: "program", ID: strings.Repeat("chuong-trinh-", 10), Title: long, Item: long},
		Scheduled: true, LevelDBFS: -149.99, Silent: 86399.9, Device: Device{OK: false, Error: long + long},
		Sync: &Sync{AgeS: 1 << 40, Manifest: 1 << 50}, DiskFree: 1 << 50, DiskLow: true, CPUTemp: 85.123,
		LastStart: &Start{Program: strings.Repeat("chuong-trinh-", 10), Planned: time.Now().UnixMilli(), LateMS: 1 << 40},
		Counters:  Counter{Starts: 1 << 40, LateStarts: 1 << 40, SilenceS: 1e9 + 0.5, DeviceErrors: 1 << 40, AlertsRejected: 1 << 40},
	}
}

// The heartbeat stays under 1 KB whatever its fields say; a typical one is
// far smaller.
func TestHeartbeatSize(t *testing.T) {
	w, err := worst().Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	typical := healthy()
	typical.OnAir = &Playing{Kind: "program", ID: "ban-tin-sang", Title: "Bản tin sáng", Item: "ban-tin-sang-04-05.mp3"}
	typical.LevelDBFS, typical.CPUTemp = -13.2, 51.5
	typical.LastStart = &Start{Program: "ban-tin-sang", Planned: t0.UnixMilli(), LateMS: 12}
	typical.Counters = Counter{Starts: 412, LateStarts: 1, SilenceS: 14.2, DeviceErrors: 0, AlertsRejected: 0}
	typ, err := typical.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("heartbeat: %d bytes typical, %d bytes at the bounds", len(typ), len(w))
	t.Logf("typical: %s", typ)
	if len(w) >= 1024 {
		t.Errorf("heartbeat at the bounds is %d bytes, want < 1024:\n%s", len(w), w)
	}
	if len(typ) >= 512 {
		t.Errorf("typical heartbeat is %d bytes", len(typ))
	}
	if !utf8.Valid(w) {
		t.Error("cutting split a character")
	}
	got, err := DecodeHeartbeat(w, strings.Repeat("phuong-", 10)[:MaxIDBytes])
	if err != nil {
		t.Fatal(err)
	}
	if got.OnAir == nil || !strings.HasSuffix(got.OnAir.Title, "…") || len(got.OnAir.Title) > MaxTextBytes || got.Counters.Starts != 1<<40 {
		t.Errorf("round trip: %+v", got.OnAir)
	}
}

func TestDecodeHeartbeatRefuses(t *testing.T) {
	good, _ := healthy().Encode(nil)
	for _, tc := range []struct {
		name string
		data string
		ward string
		want string
	}{
		{"another ward's subject", string(good), "phuong-2", `ward "phuong-1" on the subject of "phuong-2"`},
		{"not JSON", "hello", "phuong-1", "invalid character"},
		{"format", `{"v":2,"w":"phuong-1","t":1,"iv":15}`, "phuong-1", "format 2"},
		{"no time", `{"v":1,"w":"phuong-1","iv":15}`, "phuong-1", "no time"},
		{"interval", `{"v":1,"w":"phuong-1","t":1,"iv":0}`, "phuong-1", "interval 0"},
		{"huge", `{"v":1,"w":"` + strings.Repeat("x", 5000) + `"}`, "x", "5014 bytes"},
	} {
		_, err := DecodeHeartbeat([]byte(tc.data), tc.ward)
		if !errors.Is(err, ErrBadHeartbeat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := DecodeHeartbeat(good, "phuong-1"); err != nil {
		t.Error(err)
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcdef", 5, "ab…"},
		{"Bản tin", 6, "B…"}, // "ả" is 3 bytes: not split
		{"ảảả", 4, "…"},
	} {
		if got := Cut(tc.s, tc.n); got != tc.want || len(got) > tc.n {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestSubjects(t *testing.T) {
	if HeartbeatSubject("phuong-1") != "loa.hb.phuong-1" || AsRunSubject("phuong-1") != "loa.asrun.phuong-1" {
		t.Error("subjects")
	}
	for subj, want := range map[string]string{"loa.hb.phuong-1": "phuong-1", "loa.hb.": "", "loa.hb.a.b": "", "loa.asrun.x": ""} {
		if got := WardOfSubject(subj, HeartbeatPrefix); got != want {
			t.Errorf("%s: %q, want %q", subj, got, want)
		}
	}
}

func TestAsRunMessage(t *testing.T) {
	e := AsRunEntry{Ward: "phuong-1", ID: 4, Program: "ban-tin", Planned: t0.UnixMilli(), Result: "completed"}
	if e.MsgID() != "phuong-1-4-"+itoa(t0.UnixMilli()) {
		t.Errorf("msg id %s", e.MsgID())
	}
	for data, want := range map[string]string{
		`{"ward":"phuong-2","id":1,"planned":5,"program":"p","result":"completed"}`: "on the subject",
		`{"ward":"phuong-1","id":0,"planned":5,"program":"p","result":"completed"}`: "id 0",
		`{"ward":"phuong-1","id":1,"planned":5,"program":"","result":"completed"}`:  "no program",
		`[`: "unexpected end",
	} {
		if _, err := DecodeAsRun([]byte(data), "phuong-1"); !errors.Is(err, ErrBadAsRun) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", data, err)
		}
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestHashPrefix(t *testing.T) {
	sha := strings.Repeat("0123456789abcdef", 4)
	h := Heartbeat{Ward: "p", Sent: 1, Every: 1, OnAir: &Playing{Kind: PlayingProgram, ID: "x", Item: sha}}
	h.Encode(nil)
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{sha, sha, true},
		{h.OnAir.Item, sha[:45], true},
		{"ban-tin-sang.mp3", "", false},
		{"0123456789abcdef…", "", false}, // too short to be a hash
		{strings.Repeat("g", 45) + "…", "", false},
	} {
		got, ok := HashPrefix(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("HashPrefix(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
