package manifest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"loa/schedule"
	"loa/signing"
)

const designExample = `timezone: Asia/Ho_Chi_Minh
programs:
  - id: ban-tin-sang
    title: Bản tin sáng
    cron: "30 5 * * *"
    chime: media/nhac-hieu.mp3
    volume: 90
    items:
      - media/ban-tin-sang.mp3
      - media/thong-bao-tiem-chung.wav
  - id: tiep-song-vov
    title: Tiếp sóng Đài Tiếng nói Việt Nam
    cron: "0 6 * * 1-6"
    duration: 30m
    relay: http://127.0.0.1:8000/vov1.mp3
    fallback: [media/nhac-hieu.mp3]
    late: skip
  - id: chuc-tet
    title: "Chương trình Tết: 07:00"
    date: 2027-02-06
    at: "07:00"
    priority: urgent
    duration: 1h30m15s
    items: [media/chuc-tet.mp3]
`

func key(name string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(name)))
}

// resolveAll gives every reference a key made from its name.
func resolveAll(f *schedule.File) map[string]string {
	keys := map[string]string{}
	set := func(r *schedule.MediaRef) {
		r.Key = key(r.Ref)
		keys[r.Ref] = r.Key
	}
	for _, p := range f.Programs {
		if p.Chime != nil {
			set(p.Chime)
		}
		for i := range p.Items {
			set(&p.Items[i])
		}
		for i := range p.Fallback {
			set(&p.Fallback[i])
		}
	}
	return keys
}

type progView struct {
	ID, Title, Cron, Date, At, Relay string
	Duration                         time.Duration
	Volume                           int
	Priority                         schedule.Priority
	Late                             schedule.LatePolicy
	Chime                            string
	Items, Fallback                  []string
}

func view(p *schedule.Program, keyed bool) progView {
	ref := func(r schedule.MediaRef) string {
		if keyed {
			return r.Key
		}
		return r.Ref
	}
	v := progView{ID: p.ID, Title: p.Title, Cron: p.Cron, Date: p.Date, At: p.At, Relay: p.Relay,
		Duration: p.Duration, Volume: p.Volume, Priority: p.Priority, Late: p.Late}
	if p.Chime != nil {
		v.Chime = ref(*p.Chime)
	}
	for _, r := range p.Items {
		v.Items = append(v.Items, ref(r))
	}
	for _, r := range p.Fallback {
		v.Fallback = append(v.Fallback, ref(r))
	}
	return v
}

func TestEncodeProgramsRoundTrip(t *testing.T) {
	f, err := schedule.Parse("in.yaml", []byte(designExample))
	if err != nil {
		t.Fatal(err)
	}
	keys := resolveAll(f)
	out, err := EncodePrograms(f.Location, f.Programs)
	if err != nil {
		t.Fatal(err)
	}
	back, err := schedule.Parse("out.yaml", out)
	if err != nil {
		t.Fatalf("encoded file does not parse: %v\n%s", err, out)
	}
	if back.Location.String() != "Asia/Ho_Chi_Minh" {
		t.Errorf("zone %s", back.Location)
	}
	if len(back.Programs) != len(f.Programs) {
		t.Fatalf("%d programs back, want %d", len(back.Programs), len(f.Programs))
	}
	for i := range f.Programs {
		want, got := view(f.Programs[i], true), view(back.Programs[i], false)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("program %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	for ref := range keys {
		if strings.Contains(string(out), ref) {
			t.Errorf("reference %q left in the encoded file", ref)
		}
	}
	// Empty list: a ward with nothing to play.
	out, err = EncodePrograms(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := schedule.Parse("empty", out); err != nil || len(f.Programs) != 0 {
		t.Fatalf("empty: %v, %s", err, out)
	}
}

func validManifest(t *testing.T) *Manifest {
	t.Helper()
	f, err := schedule.Parse("in.yaml", []byte(designExample))
	if err != nil {
		t.Fatal(err)
	}
	keys := resolveAll(f)
	progs, err := EncodePrograms(f.Location, f.Programs)
	if err != nil {
		t.Fatal(err)
	}
	m := &Manifest{Ward: "phuong-1", Version: 3, Issued: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC),
		Timezone: "Asia/Ho_Chi_Minh", Programs: string(progs)}
	for ref, k := range keys {
		m.Media = append(m.Media, Media{SHA256: k, Size: 1000, Name: ref, URL: "/api/v1/media/" + k})
	}
	return m
}

func TestSignOpen(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	m := validManifest(t)
	env, err := Sign(priv, m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Open(env, priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("got %+v\nwant %+v", got, m)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := Open(env, other.Public().(ed25519.PublicKey)); !errors.Is(err, signing.ErrUnknownKey) {
		t.Errorf("other key: %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	edit := func(fn func(m *Manifest)) []byte {
		m := validManifest(t)
		fn(m)
		b, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		payload []byte
		want    string
	}{
		{"not JSON", []byte("hello"), "invalid character"},
		{"two objects", append(edit(func(*Manifest) {}), []byte(` {}`)...), "data after"},
		{"no ward", edit(func(m *Manifest) { m.Ward = "" }), "no ward"},
		{"version 0", edit(func(m *Manifest) { m.Version = 0 }), "version 0"},
		{"no issued", edit(func(m *Manifest) { m.Issued = time.Time{} }), "issued"},
		{"Local zone", edit(func(m *Manifest) { m.Timezone = "Local" }), "timezone"},
		{"unknown zone", edit(func(m *Manifest) { m.Timezone = "Mars/Base" }), "timezone"},
		{"zone mismatch", edit(func(m *Manifest) { m.Timezone = "Europe/Berlin" }), "programs are in Asia/Ho_Chi_Minh"},
		{"path traversal key", edit(func(m *Manifest) { m.Media[0].SHA256 = "../../etc/passwd" }), "not a sha256 key"},
		{"uppercase key", edit(func(m *Manifest) { m.Media[0].SHA256 = strings.ToUpper(m.Media[0].SHA256) }), "not a sha256 key"},
		{"duplicate media", edit(func(m *Manifest) { m.Media = append(m.Media, m.Media[0]) }), "listed twice"},
		{"zero size", edit(func(m *Manifest) { m.Media[0].Size = 0 }), "size 0"},
		{"file URL", edit(func(m *Manifest) { m.Media[0].URL = "file:///etc/passwd" }), "not http"},
		{"relative URL", edit(func(m *Manifest) { m.Media[0].URL = "media/x" }), "absolute path"},
		{"unlisted media", edit(func(m *Manifest) { m.Media = m.Media[1:] }), "is not in the media list"},
		{"bad programs", edit(func(m *Manifest) { m.Programs = "programs:\n  - id: X\n" }), "manifest v3:2:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.payload)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode: %v; want ErrInvalid containing %q", err, tc.want)
			}
			if m != nil {
				t.Error("a manifest returned with the error")
			}
		})
	}
}

func TestSizeLimits(t *testing.T) {
	m := validManifest(t)
	m.Programs += "# " + strings.Repeat("x", MaxPayload) + "\n"
	if _, err := m.Encode(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Encode of an oversized manifest: %v", err)
	}
	big := bytes.Repeat([]byte(" "), MaxPayload+1)
	if _, err := Decode(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode: %v", err)
	}
	// An envelope is refused by size before any JSON is read: this one is
	// not even JSON.
	huge := bytes.Repeat([]byte("A"), MaxEnvelope+1)
	if _, err := ReadEnvelope(bytes.NewReader(huge)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadEnvelope: %v", err)
	}
	// The largest payload allowed still fits its envelope.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	env := signing.Sign(priv, bytes.Repeat([]byte("x"), MaxPayload))
	var buf bytes.Buffer
	if err := jsonEncode(&buf, env); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadEnvelope(&buf); err != nil {
		t.Errorf("largest envelope refused: %v", err)
	}
}
