package schedule

import (
	"strings"
	"testing"
	"time"
)

// testMedia is what the test resolver knows.
var testMedia = mapResolver{
	"a.mp3":     5 * time.Minute,
	"b.mp3":     10 * time.Minute,
	"chime.mp3": 10 * time.Second,
	"long.mp3":  2 * time.Hour,
}

// A valid file reads into exactly the programs it describes.
func TestParseValid(t *testing.T) {
	src := `timezone: Asia/Ho_Chi_Minh          # the default
programs:
  - id: ban-tin-sang
    title: Bản tin sáng
    cron: "30 5 * * *"
    chime: chime.mp3
    volume: 90
    late: restart
    items:
      - a.mp3
      - b.mp3
  - id: tiep-song-vov
    title: Tiếp sóng VOV
    cron: "0 6 * * 1-6"
    duration: 30m
    relay: http://127.0.0.1:8000/vov1.mp3
    fallback: [a.mp3]
  - id: chuc-tet
    date: 2027-02-06
    at: 07:00
    priority: urgent
    late: skip
    items: [b.mp3]
`
	f, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if f.Location.String() != "Asia/Ho_Chi_Minh" || len(f.Programs) != 3 {
		t.Fatalf("zone %v, %d programs", f.Location, len(f.Programs))
	}
	p := f.Programs[0]
	if p.ID != "ban-tin-sang" || p.Title != "Bản tin sáng" || p.Cron != "30 5 * * *" || p.Volume != 90 ||
		p.Late != LateRestart || p.Priority != PriorityNormal || p.Line != 3 ||
		p.Chime == nil || p.Chime.Ref != "chime.mp3" || p.Chime.Line != 6 ||
		len(p.Items) != 2 || p.Items[0].Ref != "a.mp3" || p.Items[0].Line != 10 || p.Items[1].Ref != "b.mp3" || p.Items[1].Line != 11 {
		t.Errorf("program 1 = %+v", p)
	}
	p = f.Programs[1]
	if p.ID != "tiep-song-vov" || p.Duration != 30*time.Minute || p.Relay != "http://127.0.0.1:8000/vov1.mp3" ||
		len(p.Fallback) != 1 || p.Fallback[0].Ref != "a.mp3" || p.Volume != 100 || p.Late != LateJoin || p.Items != nil {
		t.Errorf("program 2 = %+v", p)
	}
	p = f.Programs[2]
	if p.ID != "chuc-tet" || p.Date != "2027-02-06" || p.At != "07:00" || p.Cron != "" ||
		p.Priority != PriorityUrgent || p.Late != LateSkip || p.Line != 18 {
		t.Errorf("program 3 = %+v", p)
	}

	// Without a timezone the default applies; "programs:" alone clears the
	// schedule.
	f, err = Parse("p.yaml", []byte("programs:\n"))
	if err != nil || f.Location.String() != DefaultTimezone || len(f.Programs) != 0 {
		t.Fatalf("empty programs: %v %v %d", err, f.Location, len(f.Programs))
	}
	// With errors, Parse still returns what it read (so LoadFile can go on
	// to media), and New leaves the faulty programs out.
	f, err = Parse("p.yaml", []byte("programs:\n  - id: a\n    cron: \"0 6 * * *\"\n    items: [a.mp3]\n"+
		"  - id: b\n    cron: \"0 7 * * *\"\n    volume: 101\n    items: [a.mp3]\n"))
	if err == nil || f == nil || len(f.Programs) != 2 {
		t.Fatalf("Parse with an error: %v, %v", f, err)
	}
	if tl := New(nil, Source{File: f}).Timeline(Date{2026, time.December, 1}); len(tl) != 1 || tl[0].Program.ID != "a" {
		t.Errorf("New scheduled %s", describe(tl, DefaultLocation()))
	}

	// A file saved on Windows: byte order mark, CRLF; a one-digit hour.
	f, err = Parse("p.yaml", []byte("\ufeffprograms:\r\n  - id: a\r\n    date: 2027-02-06\r\n    at: 7:00\r\n    items: [a.mp3]\r\n"))
	if err != nil || len(f.Programs) != 1 || f.Programs[0].At != "7:00" || f.Programs[0].Items[0].Line != 5 {
		t.Fatalf("CRLF: %v", err)
	}
	f, err = Parse("p.yaml", []byte("timezone: Europe/Berlin\nprograms: []\n"))
	if err != nil || f.Location.String() != "Europe/Berlin" {
		t.Fatalf("Berlin: %v %v", err, f.Location)
	}
}

// sevenMsg is the refusal of day of week 7, as an operator reads it.
const sevenMsg = `thứ trong tuần 7 không dùng được: Chủ nhật = 0, Thứ 2 = 1, …, Thứ 7 = 6 / ` +
	`day of week 7 is refused (in cron 7 is Sunday, but "Thứ 7" is Saturday): write Sunday (Chủ nhật) as 0 and Saturday (Thứ 7) as 6`

// Every validation error, with the exact text an operator sees.
func TestParseErrors(t *testing.T) {
	const head = "programs:\n"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"yaml syntax", head + "  - id: a\n    cron: \"0 6 * * *\n", []string{
			`f.yaml:3: invalid YAML: found unexpected end of stream`}},
		{"yaml mapping", "programs:\n  - id: a\n    title: a: b\n", []string{
			`f.yaml:3: invalid YAML: mapping values are not allowed in this context`}},
		{"yaml tab", "programs:\n\t- id: a\n", []string{
			`f.yaml:2: invalid YAML: found character that cannot start any token`}},
		{"control character", "programs:\n  - id: a\x01\n", []string{
			`f.yaml:2: invalid YAML: control characters are not allowed`}},
		{"bad utf-8", "programs:\n  - id: a\n    title: \xff\n", []string{
			`f.yaml:3: invalid YAML: invalid leading UTF-8 octet`}},
		{"unknown anchor", "programs:\n  - id: a\n    items: *list\n", []string{
			`f.yaml:3: invalid YAML: unknown anchor 'list' referenced`}},
		{"two documents", "programs: []\n---\nprograms: []\n", []string{
			`f.yaml:2: a second YAML document; a program file holds one`}},
		{"empty file", "", []string{
			`f.yaml:1: file is empty; want a "programs:" list`}},
		{"comments only", "# nothing\n", []string{
			`f.yaml:1: file is empty; want a "programs:" list`}},
		{"not a mapping", "- id: a\n", []string{
			`f.yaml:1: the file must be a mapping with a "programs:" list, not a list`}},
		{"no programs", "timezone: Asia/Ho_Chi_Minh\n", []string{
			`f.yaml:1: no "programs:" list`}},
		{"programs not a list", "programs: abc\n", []string{
			`f.yaml:1: programs must be a list, not a value`}},
		{"unknown top key", "timezon: UTC\nprograms: []\n", []string{
			`f.yaml:1: unknown key "timezon" at top level (did you mean "timezone"?)`}},
		{"repeated top key", "programs: []\nprograms: []\n", []string{
			`f.yaml:2: key "programs" repeated (first at line 1)`}},
		{"unknown zone", "timezone: Asia/Hanoi\nprograms: []\n", []string{
			`f.yaml:1: unknown time zone "Asia/Hanoi"`}},
		{"local zone", "timezone: Local\nprograms: []\n", []string{
			`f.yaml:1: unknown time zone "Local" (want an IANA name like Asia/Ho_Chi_Minh)`}},
		{"program not a mapping", head + "  - a.mp3\n", []string{
			`f.yaml:2: program 1 must be a mapping (id:, cron:, items: …), not a value`}},
		{"unknown key", head + "  - id: ban-tin-sang\n    cron: \"30 5 * * *\"\n    itmes: [a.mp3]\n", []string{
			`f.yaml:2: program "ban-tin-sang" has no items`,
			`f.yaml:4: unknown key "itmes" in program "ban-tin-sang" (did you mean "items"?)`}},
		{"unknown key far from any", head + "  - id: a\n    cron: \"30 5 * * *\"\n    items: [a.mp3]\n    colour: red\n", []string{
			`f.yaml:5: unknown key "colour" in program "a"`}},
		{"repeated key", head + "  - id: a\n    cron: \"30 5 * * *\"\n    cron: \"30 6 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:4: key "cron" repeated (first at line 3)`}},
		{"missing id", head + "  - cron: \"30 5 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:2: program 1 has no id`}},
		{"empty id", head + "  - id:\n    cron: \"30 5 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:2: program 1 has no id`}},
		{"bad id", head + "  - id: Ban_Tin\n    cron: \"30 5 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:2: id "Ban_Tin" must be lowercase letters a-z, digits and '-'`}},
		{"duplicate id", head + "  - id: a\n    cron: \"30 5 * * *\"\n    items: [a.mp3]\n  - id: a\n    cron: \"30 6 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:5: duplicate id "a" (first at line 2)`}},
		{"bad cron", head + "  - id: a\n    cron: \"61 5 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "61 5 * * *": end of range (61) above maximum (59): 61`}},
		{"cron fields", head + "  - id: a\n    cron: \"0 30 5 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "0 30 5 * * *": expected exactly 5 fields, found 6: [0 30 5 * * *]`}},
		{"cron @reboot", head + "  - id: a\n    cron: \"@reboot\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "@reboot": @reboot không dùng được: đài phát theo giờ, không theo lúc khởi động; ` +
				`khi khởi động lại, chương trình đang giờ phát được phát tiếp (xem late) / ` +
				`@reboot is refused: a station plays by the clock, not by when it started; ` +
				`after a restart the program the clock says is on air plays (see late)`}},
		{"cron @every", head + "  - id: a\n    cron: \"@every 1h\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "@every 1h": @every không phải cú pháp cron: nó đếm từ lúc chương trình chạy, không theo giờ; ` +
				`viết 5 trường, ví dụ "*/15 * * * *" / ` +
				`@every is not cron (it counts from when the process started, not by the clock); write 5 fields, like "*/15 * * * *"`}},
		{"cron unknown descriptor", head + "  - id: a\n    cron: \"@fortnightly\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "@fortnightly": không biết @fortnightly; dùng @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly hoặc 5 trường / ` +
				`unknown @fortnightly; use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or 5 fields`}},
		{"cron descriptor with more", head + "  - id: a\n    cron: \"@daily 5\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "@daily 5": @daily không nhận gì thêm / @daily takes nothing after it`}},
		// "Thứ 7" is Saturday: cron's 7 = Sunday would air on the wrong day.
		{"cron Sunday as 7", head + "  - id: a\n    cron: \"0 6 * * 7\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "0 6 * * 7": ` + sevenMsg}},
		{"cron week to 7", head + "  - id: a\n    cron: \"0 6 * * 1-7\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "0 6 * * 1-7": ` + sevenMsg}},
		{"cron 7 in a list", head + "  - id: a\n    cron: \"0 6 * * 1,07\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "0 6 * * 1,07": ` + sevenMsg}},
		{"cron weekend to 7", head + "  - id: a\n    cron: \"0 6 * * 6-7/1\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "0 6 * * 6-7/1": ` + sevenMsg}},
		{"cron day of week 8", head + "  - id: a\n    cron: \"0 6 * * 8\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "0 6 * * 8": end of range (8) above maximum (6): 8`}},
		{"cron zone", head + "  - id: a\n    cron: \"TZ=UTC\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "TZ=UTC": must not name a time zone; use the file's timezone`}},
		{"cron never fires", head + "  - id: a\n    cron: \"0 6 30 2 *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "0 6 30 2 *": never fires`}},
		{"empty cron", head + "  - id: a\n    cron: \"\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: bad cron "": is empty`}},
		{"bad date", head + "  - id: a\n    date: 2027-02-30\n    at: \"07:00\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: date "2027-02-30" is not a date`}},
		{"date format", head + "  - id: a\n    date: 6/2/2027\n    at: \"07:00\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: date "6/2/2027" is not a date (want YYYY-MM-DD)`}},
		{"bad time", head + "  - id: a\n    date: 2027-02-06\n    at: \"24:00\"\n    items: [a.mp3]\n", []string{
			`f.yaml:4: at "24:00" is not a time of day (want HH:MM, 00:00 to 23:59)`}},
		{"cron and date", head + "  - id: a\n    cron: \"0 6 * * *\"\n    date: 2027-02-06\n    at: \"07:00\"\n    items: [a.mp3]\n", []string{
			`f.yaml:4: program "a" has both cron and date; use cron, or date with at`}},
		{"cron and at", head + "  - id: a\n    cron: \"0 6 * * *\"\n    at: \"07:00\"\n    items: [a.mp3]\n", []string{
			`f.yaml:4: program "a" has both cron and at; use cron, or date with at`}},
		{"neither", head + "  - id: a\n    items: [a.mp3]\n", []string{
			`f.yaml:2: program "a" has no cron, nor date with at`}},
		{"date without at", head + "  - id: a\n    date: 2027-02-06\n    items: [a.mp3]\n", []string{
			`f.yaml:3: program "a" has a date but no at (HH:MM)`}},
		{"at without date", head + "  - id: a\n    at: \"07:00\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: program "a" has at but no date (YYYY-MM-DD); for every day use cron`}},
		{"relay without duration", head + "  - id: a\n    cron: \"0 6 * * *\"\n    relay: http://vov.vn/live.mp3\n", []string{
			`f.yaml:4: program "a" has a relay but no duration`}},
		{"relay with items", head + "  - id: a\n    cron: \"0 6 * * *\"\n    duration: 30m\n    relay: http://vov.vn/live.mp3\n    items: [a.mp3]\n", []string{
			`f.yaml:6: program "a" has both relay and items; use one`}},
		{"bad url", head + "  - id: a\n    cron: \"0 6 * * *\"\n    duration: 30m\n    relay: ftp://vov.vn/live.mp3\n", []string{
			`f.yaml:5: relay "ftp://vov.vn/live.mp3" is not an http or https URL`}},
		{"url without host", head + "  - id: a\n    cron: \"0 6 * * *\"\n    duration: 30m\n    relay: http:///live.mp3\n", []string{
			`f.yaml:5: relay "http:///live.mp3" is not an http or https URL`}},
		{"fallback without relay", head + "  - id: a\n    cron: \"0 6 * * *\"\n    items: [a.mp3]\n    fallback: [b.mp3]\n", []string{
			`f.yaml:5: program "a" has a fallback but no relay`}},
		{"no items", head + "  - id: a\n    cron: \"0 6 * * *\"\n", []string{
			`f.yaml:2: program "a" has no items`}},
		{"empty items", head + "  - id: a\n    cron: \"0 6 * * *\"\n    items: []\n", []string{
			`f.yaml:4: program "a" has no items`}},
		{"items not a list", head + "  - id: a\n    cron: \"0 6 * * *\"\n    items: a.mp3\n", []string{
			`f.yaml:4: items must be a list of media, like [media/a.mp3], not a value`}},
		{"item not a path", head + "  - id: a\n    cron: \"0 6 * * *\"\n    items:\n      - a.mp3\n      - {x: 1}\n      - \"\"\n", []string{
			`f.yaml:6: items 2 must be a media path, not a mapping`,
			`f.yaml:7: items 3 is empty`}},
		{"title a list", head + "  - id: a\n    title: [x]\n    cron: \"0 6 * * *\"\n    items: [a.mp3]\n", []string{
			`f.yaml:3: title must be a single value, not a list`}},
		{"volume out of range", head + "  - id: a\n    cron: \"0 6 * * *\"\n    volume: 150\n    items: [a.mp3]\n", []string{
			`f.yaml:4: volume 150 is out of range 0 to 100`}},
		{"volume negative", head + "  - id: a\n    cron: \"0 6 * * *\"\n    volume: -1\n    items: [a.mp3]\n", []string{
			`f.yaml:4: volume -1 is out of range 0 to 100`}},
		{"volume not a number", head + "  - id: a\n    cron: \"0 6 * * *\"\n    volume: loud\n    items: [a.mp3]\n", []string{
			`f.yaml:4: volume "loud" is not a whole number 0 to 100`}},
		{"bad priority", head + "  - id: a\n    cron: \"0 6 * * *\"\n    priority: high\n    items: [a.mp3]\n", []string{
			`f.yaml:4: priority "high" is not normal or urgent`}},
		{"emergency is for alerts", head + "  - id: a\n    cron: \"0 6 * * *\"\n    priority: emergency\n    items: [a.mp3]\n", []string{
			`f.yaml:4: priority "emergency" is not normal or urgent`}},
		{"bad late", head + "  - id: a\n    cron: \"0 6 * * *\"\n    late: resume\n    items: [a.mp3]\n", []string{
			`f.yaml:4: late "resume" is not join, restart or skip`}},
		{"bad duration", head + "  - id: a\n    cron: \"0 6 * * *\"\n    duration: 30\n    items: [a.mp3]\n", []string{
			`f.yaml:4: duration "30" is not a duration (like 30m, 1h30m, 90s)`}},
		{"zero duration", head + "  - id: a\n    cron: \"0 6 * * *\"\n    duration: 0s\n    items: [a.mp3]\n", []string{
			`f.yaml:4: duration "0s" must be more than zero`}},
		{"negative duration", head + "  - id: a\n    cron: \"0 6 * * *\"\n    duration: -5m\n    items: [a.mp3]\n", []string{
			`f.yaml:4: duration "-5m" must be more than zero`}},
		{"duration over a day", head + "  - id: a\n    cron: \"0 6 * * *\"\n    duration: 1000h\n    items: [a.mp3]\n", []string{
			`f.yaml:4: duration "1000h" is longer than 24h`}},
		{"merge key", head + "  - id: a\n    cron: \"0 6 * * *\"\n    items: [a.mp3]\n  - <<: {cron: \"0 7 * * *\"}\n    id: b\n    items: [a.mp3]\n", []string{
			`f.yaml:5: merge keys (<<) are not supported; write the keys out`,
			`f.yaml:5: program "b" has no cron, nor date with at`}},
		{"empty chime", head + "  - id: a\n    cron: \"0 6 * * *\"\n    chime:\n    items: [a.mp3]\n", []string{
			`f.yaml:4: chime is empty`}},
		{"all together, sorted by line", "timezone: Mars/Olympus\nprograms:\n" +
			"  - id: b\n    cron: \"0 25 * * *\"\n    volume: 101\n    items: [a.mp3]\n" +
			"  - id: b\n    relay: gopher://x\n", []string{
			`f.yaml:1: unknown time zone "Mars/Olympus"`,
			`f.yaml:4: bad cron "0 25 * * *": end of range (25) above maximum (23): 25`,
			`f.yaml:5: volume 101 is out of range 0 to 100`,
			`f.yaml:7: duplicate id "b" (first at line 3)`,
			`f.yaml:7: program "b" has no cron, nor date with at`,
			`f.yaml:8: relay "gopher://x" is not an http or https URL`,
			`f.yaml:8: program "b" has a relay but no duration`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error; want\n%s", strings.Join(tt.want, "\n"))
			}
			got := errorLines(t, err)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
