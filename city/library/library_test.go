package library

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"loa/internal/cmdkit"
	"loa/sqlite"
)

// TestUploadNames: a bad name is refused with a message naming what is
// wrong, before anything is stored.
func TestUploadNames(t *testing.T) {
	f := newFixture(t)
	cases := []struct{ name, title, want string }{
		{"", "", "want the file name"},
		{".", "", "want the file name"},
		{"..", "", "want the file name"},
		{strings.Repeat("a", 256), "", "too long or not UTF-8"},
		{"a\xffb.wav", "", "too long or not UTF-8"},
		{"media/ban-tin.wav", "", "without folders"},
		{`media\ban-tin.wav`, "", "without folders"},
		{strings.Repeat("ab", 32), "", "looks like a sha256 key"},
		{"ban\ttin.wav", "", "control characters"},
		{"ban-tin.wav", strings.Repeat("t", 501), "title: too long"},
	}
	for _, c := range cases {
		_, err := f.StartUpload(t.Context(), UploadInfo{Name: c.name, Title: c.title, By: "op"}, 100)
		var bad *cmdkit.BadInputError
		if !errors.As(err, &bad) || !strings.Contains(bad.Msg, c.want) {
			t.Errorf("name %q: %v, want a bad input saying %q", c.name, err, c.want)
		}
		if _, _, err := f.Ingest(t.Context(), strings.NewReader("x"), UploadInfo{Name: c.name, Title: c.title}); !errors.As(err, &bad) {
			t.Errorf("one-request upload named %q: %v, want a bad input", c.name, err)
		}
	}
	if len(f.db.uploads) != 0 || len(f.tmp(t)) != 0 {
		t.Errorf("refused names left uploads %v, files %v", f.db.uploads, f.tmp(t))
	}
	// A good name: the title defaults to it without its extension.
	u, err := f.StartUpload(t.Context(), UploadInfo{Name: "Bản tin sáng.mp3", By: "op"}, 100)
	if err != nil || u.Title != "Bản tin sáng" || u.CreatedBy != "op" {
		t.Fatalf("good name: %+v %v", u, err)
	}
}

// TestNameTaken: a name other media has is refused (ErrNameTaken, and
// nothing of the new file is kept) unless the upload replaces it; the same
// content under a new name only adds the name.
func TestNameTaken(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	writeTone(t, filepath.Join(dir, "a.wav"), 1, 440)
	writeTone(t, filepath.Join(dir, "b.wav"), 1, 660)
	ingest := func(file, name string, replace bool) (sqlite.CityMedia, bool, error) {
		r, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		return f.Ingest(t.Context(), r, UploadInfo{Name: name, By: "op", Replace: replace})
	}
	a, created, err := ingest("a.wav", "tin.wav", false)
	if err != nil || !created || a.Rate != CanonicalRate || !f.files.Has(a.SHA256) {
		t.Fatalf("first upload: %+v %v %v", a, created, err)
	}
	if d := a.Duration(); d < 900*time.Millisecond || d > 1100*time.Millisecond {
		t.Errorf("duration %s, want 1 s", d)
	}
	_, _, err = ingest("b.wav", "tin.wav", false)
	if !errors.Is(err, ErrNameTaken) || !strings.Contains(err.Error(), "rename the file") || !strings.Contains(err.Error(), a.SHA256) {
		t.Fatalf("same name, other content: %v", err)
	}
	if keys, _ := f.files.Keys(); len(keys) != 1 || len(f.db.media) != 1 {
		t.Errorf("the refused file was kept: files %v, rows %d", keys, len(f.db.media))
	}
	// Same content, new name: no transcode, one more name.
	f.Config.FFmpeg = "/nonexistent/ffmpeg"
	again, created, err := ingest("a.wav", "tin-2.wav", false)
	if err != nil || created || again.SHA256 != a.SHA256 || !slices.Equal(again.Names, []string{"tin-2.wav", "tin.wav"}) {
		t.Fatalf("same content again: %+v %v %v", again, created, err)
	}
	f.Config.FFmpeg = "ffmpeg"
	b, created, err := ingest("b.wav", "tin.wav", true)
	if err != nil || !created || b.SHA256 == a.SHA256 || !slices.Equal(b.Names, []string{"tin.wav"}) {
		t.Fatalf("replace: %+v %v %v", b, created, err)
	}
	if key, _ := f.db.MediaByName(t.Context(), "tin.wav"); key != b.SHA256 {
		t.Errorf("tin.wav is %s, want the replacing %s", key, b.SHA256)
	}
	if tmp := f.tmp(t); len(tmp) != 0 {
		t.Errorf("tmp after ingest: %v", tmp)
	}
	all, err := f.List(t.Context())
	if err != nil || len(all) != 2 {
		t.Errorf("list: %d items, %v", len(all), err)
	}
}

// TestIngestLimits: an upload over ingest.max_upload_mb is refused with
// ErrTooBig whether announced or not, an empty or non-audio file is a
// NotAudioError, and nothing is left behind.
func TestIngestLimits(t *testing.T) {
	f := newFixture(t) // MaxUploadMB: 1
	if err := f.CheckSize(1<<20 + 1); !errors.Is(err, ErrTooBig) || !strings.Contains(err.Error(), "limit 1 MB") {
		t.Errorf("announced too big: %v", err)
	}
	if err := f.CheckSize(-1); err != nil {
		t.Errorf("unknown size: %v", err)
	}
	if err := f.CheckSize(1 << 20); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	_, _, err := f.Ingest(t.Context(), bytes.NewReader(make([]byte, 1<<20+1)), UploadInfo{Name: "big.wav"})
	if !errors.Is(err, ErrTooBig) {
		t.Errorf("too big a body: %v", err)
	}
	var notAudio *NotAudioError
	_, _, err = f.Ingest(t.Context(), strings.NewReader(""), UploadInfo{Name: "empty.wav"})
	if !errors.As(err, &notAudio) || notAudio.Reason != "the file is empty" {
		t.Errorf("empty: %v", err)
	}
	_, _, err = f.Ingest(t.Context(), strings.NewReader(strings.Repeat("not audio at all\n", 100)), UploadInfo{Name: "notes.txt"})
	if !errors.As(err, &notAudio) || strings.Contains(notAudio.Reason, f.files.Dir) {
		t.Errorf("text: %v", err)
	}
	if tmp := f.tmp(t); len(tmp) != 0 || len(f.db.media) != 0 {
		t.Errorf("refused uploads left files %v, rows %d", tmp, len(f.db.media))
	}
}

// TestResumableOffsets: pieces go only where the upload ends; a piece at
// the wrong offset, beyond the announced size, of another user, or to an
// unknown upload changes nothing; the last piece ingests the file.
func TestResumableOffsets(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	dir := t.TempDir()
	writeTone(t, filepath.Join(dir, "tin.wav"), 2, 440)
	data, _ := os.ReadFile(filepath.Join(dir, "tin.wav"))
	op := Caller{Name: "op"}

	for _, size := range []int64{0, -5} {
		var bad *cmdkit.BadInputError
		if _, err := f.StartUpload(ctx, UploadInfo{Name: "tin.wav", By: "op"}, size); !errors.As(err, &bad) || !strings.Contains(bad.Msg, "size") {
			t.Errorf("size %d: %v", size, err)
		}
	}
	if _, err := f.StartUpload(ctx, UploadInfo{Name: "tin.wav", By: "op"}, 1<<20+1); !errors.Is(err, ErrTooBig) {
		t.Errorf("too big: %v", err)
	}
	u, err := f.StartUpload(ctx, UploadInfo{Name: "tin.wav", By: "op"}, int64(len(data)))
	if err != nil || !ValidUploadID(u.ID) || u.Size != int64(len(data)) {
		t.Fatalf("start: %+v %v", u, err)
	}
	half := int64(len(data) / 2)

	// The wrong place: nothing written, the error says where to resume.
	p, err := f.Append(ctx, u.ID, op, 10, bytes.NewReader(data[10:20]))
	var off *OffsetError
	if !errors.As(err, &off) || off.Have != 0 || off.At != 10 || p.Written {
		t.Fatalf("append at 10 of 0: %+v %v", p, err)
	}
	if err.Error() != "the upload has 0 bytes, not 10: resume from 0" {
		t.Errorf("offset message: %q", err)
	}
	p, err = f.Append(ctx, u.ID, op, 0, bytes.NewReader(data[:half]))
	if err != nil || !p.Written || p.Offset != half || p.Done {
		t.Fatalf("first half: %+v %v", p, err)
	}
	// Another operator may not see nor touch it; an admin may see it.
	var notYours *NotYoursError
	if _, err := f.Append(ctx, u.ID, Caller{Name: "other"}, half, bytes.NewReader(data[half:])); !errors.As(err, &notYours) || notYours.Owner != "op" {
		t.Errorf("another user appends: %v", err)
	}
	if err := f.DeleteUpload(ctx, u.ID, Caller{Name: "other"}); !errors.As(err, &notYours) {
		t.Errorf("another user deletes: %v", err)
	}
	if _, n, err := f.Upload(ctx, u.ID, Caller{Name: "root", Admin: true}); err != nil || n != half {
		t.Errorf("admin reads: %d %v", n, err)
	}
	// Ids that are not ids, and unknown ones.
	var bad *cmdkit.BadInputError
	if _, _, err := f.Upload(ctx, "../../etc/passwd", op); !errors.As(err, &bad) {
		t.Errorf("bad id: %v", err)
	}
	if _, _, err := f.Upload(ctx, strings.Repeat("0", 32), op); !errors.Is(err, sqlite.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	// More than announced: refused, the file never longer than the size.
	p, err = f.Append(ctx, u.ID, op, half, io.MultiReader(bytes.NewReader(data[half:]), strings.NewReader("extra")))
	if !errors.As(err, &bad) || !strings.Contains(bad.Msg, "more bytes than the announced size") || p.Written || p.Done {
		t.Fatalf("beyond the size: %+v %v", p, err)
	}
	_, n, err := f.Upload(ctx, u.ID, op)
	if err != nil || n > u.Size {
		t.Fatalf("after too many bytes: %d of %d, %v", n, u.Size, err)
	}
	if len(f.db.media) != 0 {
		t.Errorf("media from a refused piece: %d", len(f.db.media))
	}
	if err := f.DeleteUpload(ctx, u.ID, op); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Upload(ctx, u.ID, op); !errors.Is(err, sqlite.ErrNotFound) {
		t.Errorf("deleted upload: %v", err)
	}

	// Again, with a piece cut short: what arrived is kept.
	u, err = f.StartUpload(ctx, UploadInfo{Name: "tin.wav", By: "op"}, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	cut := io.MultiReader(bytes.NewReader(data[:100]), errReader{errors.New("connection reset")})
	p, err = f.Append(ctx, u.ID, op, 0, cut)
	if !errors.As(err, &bad) || !strings.Contains(bad.Msg, "upload interrupted at 100") || !p.Written || p.Offset != 100 {
		t.Fatalf("cut short: %+v %v", p, err)
	}
	p, err = f.Append(ctx, u.ID, op, 100, bytes.NewReader(data[100:]))
	if err != nil || !p.Done || !p.Created || p.Media.OriginalName != "tin.wav" || p.Media.AddedBy != "op" {
		t.Fatalf("last piece: %+v %v", p, err)
	}
	if d := p.Media.Duration(); d < 1900*time.Millisecond || d > 2100*time.Millisecond {
		t.Errorf("duration %s, want 2 s", d)
	}
	if _, _, err := f.Upload(ctx, u.ID, op); !errors.Is(err, sqlite.ErrNotFound) {
		t.Errorf("finished upload still there: %v", err)
	}
	if tmp := f.tmp(t); len(tmp) != 0 {
		t.Errorf("tmp after upload: %v", tmp)
	}

	// A complete upload that is not audio is dropped with its bytes.
	u, _ = f.StartUpload(ctx, UploadInfo{Name: "notes.wav", By: "op"}, 6)
	var notAudio *NotAudioError
	if _, err := f.Append(ctx, u.ID, op, 0, strings.NewReader("hello\n")); !errors.As(err, &notAudio) {
		t.Errorf("not audio: %v", err)
	}
	if _, _, err := f.Upload(ctx, u.ID, op); !errors.Is(err, sqlite.ErrNotFound) || len(f.tmp(t)) != 0 {
		t.Errorf("a bad file is kept: %v %v", err, f.tmp(t))
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestExpireUploads: uploads older than ingest.upload_expiry go, with
// their bytes, on the injected clock; younger ones stay.
func TestExpireUploads(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	op := Caller{Name: "op"}
	old, err := f.StartUpload(ctx, UploadInfo{Name: "old.wav", By: "op"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	f.Append(ctx, old.ID, op, 0, strings.NewReader("abc"))
	f.clock.Add(23 * time.Hour)
	young, _ := f.StartUpload(ctx, UploadInfo{Name: "young.wav", By: "op"}, 100)
	if err := f.ExpireUploads(ctx); err != nil {
		t.Fatal(err)
	}
	if len(f.db.uploads) != 2 {
		t.Fatalf("expired before 24 h: %v", f.db.uploads)
	}
	f.clock.Add(time.Hour + time.Second)
	if err := f.ExpireUploads(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Upload(ctx, old.ID, op); !errors.Is(err, sqlite.ErrNotFound) {
		t.Errorf("24 h old upload: %v", err)
	}
	if _, n, err := f.Upload(ctx, young.ID, op); err != nil || n != 0 {
		t.Errorf("1 h old upload: %d %v", n, err)
	}
	if tmp := f.tmp(t); !slices.Equal(tmp, []string{"upload-" + young.ID + ".part"}) {
		t.Errorf("tmp: %v", tmp)
	}
}

// TestCleanTemp: leftovers of interrupted ingests go at start; resumable
// uploads stay.
func TestCleanTemp(t *testing.T) {
	f := newFixture(t)
	tmp := filepath.Join(f.files.Dir, "tmp")
	for _, n := range []string{"spool-1", "canon-2.mp3", "put-3", "upload-" + strings.Repeat("a", 32) + ".part"} {
		os.WriteFile(filepath.Join(tmp, n), []byte("x"), 0o600)
	}
	f.CleanTemp()
	if got := f.tmp(t); !slices.Equal(got, []string{"upload-" + strings.Repeat("a", 32) + ".part"}) {
		t.Errorf("after CleanTemp: %v", got)
	}
}

// TestOpenFile: a key that is not a key is bad input (it never reaches
// the file system); a key not in the library is fs.ErrNotExist.
func TestOpenFile(t *testing.T) {
	f := newFixture(t)
	var bad *cmdkit.BadInputError
	if _, err := f.OpenFile("../../city.key"); !errors.As(err, &bad) || !strings.Contains(bad.Msg, "not a sha256 key") {
		t.Errorf("bad key: %v", err)
	}
	if _, err := f.OpenFile(strings.Repeat("ab", 32)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unknown key: %v", err)
	}
}

// TestSpeakAndChime: espeak-ng's speech and the built-in chime enter the
// library like uploads, named for what they are; the chime is made once.
func TestSpeakAndChime(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	m, err := f.Speak(ctx, "20260920-x1", "Bão số 3 đang vào bờ. Người dân ở trong nhà.", "vi", 140, "alerter")
	if err != nil {
		t.Fatal(err)
	}
	if m.Rate != CanonicalRate || m.Duration() < time.Second || m.AddedBy != "alerter" || !slices.Equal(m.Names, []string{"alert-20260920-x1.wav"}) {
		t.Errorf("speech: %+v", m)
	}
	f.Config.Espeak = filepath.Join(t.TempDir(), "espeak-ng")
	if _, err := f.Speak(ctx, "x2", "thử", "vi", 140, "alerter"); err == nil || !strings.Contains(err.Error(), "speak the alert's text with "+f.Config.Espeak) {
		t.Errorf("without espeak-ng: %v", err)
	}
	c, err := f.Chime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Duration(); d < 1100*time.Millisecond || d > 1300*time.Millisecond || !slices.Equal(c.Names, []string{BuiltinChime}) {
		t.Errorf("chime: %s %v", d, c.Names)
	}
	f.Config.FFmpeg = "/nonexistent/ffmpeg" // made once: not again
	if again, err := f.Chime(ctx); err != nil || again.SHA256 != c.SHA256 {
		t.Errorf("chime again: %v %v", again.SHA256, err)
	}
	if tmp := f.tmp(t); len(tmp) != 0 {
		t.Errorf("tmp: %v", tmp)
	}
}

// Text is normalised before it is spoken (loa/vitext), with the city's own
// abbreviations, and a preview is espeak-ng's WAV of the text as given.
func TestNormalizeAndRenderSpeech(t *testing.T) {
	f := newFixture(t)
	f.Config.Abbreviations = map[string]string{"BQL": "Ban quản lý"}
	spoken, exp := f.Normalize("BQL chợ họp lúc 14h, ngày 14/9; cách 105 m", "vi-vn-x-south")
	if spoken != "Ban quản lý chợ họp lúc mười bốn giờ, ngày mười bốn tháng chín; cách một trăm linh năm mét" || len(exp) != 4 {
		t.Fatalf("Normalize: %q %+v", spoken, exp)
	}
	wav, err := f.RenderSpeech(t.Context(), spoken, "vi-vn-x-south", 150)
	if err != nil {
		t.Fatal(err)
	}
	if len(wav) < 10000 || string(wav[:4]) != "RIFF" || string(wav[8:12]) != "WAVE" {
		t.Fatalf("preview: %d bytes %q", len(wav), wav[:min(12, len(wav))])
	}
}
