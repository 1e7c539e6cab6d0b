// Package library is the city's media library: uploads in one request or
// resumable in pieces, each transcoded with ffmpeg to the one canonical
// format the wards play and checked against what its own header claims,
// text spoken with espeak-ng for text alerts, the built-in alert chime,
// the listing of media, and the expiry of forgotten uploads. It also
// checks at start-up that the outside programs it runs are there.
//
// It owns this job alone so that every way media enters the library (an
// upload, a resumed upload, a text alert, the chime) goes through the same
// checks. It knows neither HTTP nor NATS: it works on a Files store (the
// content-addressed files, *mediastore.Store) and a DB (the library's
// rows, an adapter over *sqlite.CityDB in package city), both declared
// here so tests can use fakes.
//
// Why transcode at the city: wards decode with a pure-Go MP3 decoder that
// is exact on MPEG-1 Layer III but was found to garble some low-rate MPEG-2
// files, and a Pi on 3G should download each bulletin once, small. So every
// upload, whatever its format, becomes one MP3 at 44.1 kHz mono, 64 kbps
// CBR, checked to decode with the wards' decoder before it is accepted.
package library

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"loa/internal/cmdkit"
	"loa/mediastore"
	"loa/sqlite"
)

// Config is what the library needs of loa-city's configuration (the
// ingest section and alerts.espeak).
type Config struct {
	// FFmpeg is the ffmpeg program (ingest.ffmpeg).
	FFmpeg string
	// FFprobe is the ffprobe program (ingest.ffprobe); "": uploads in
	// formats loa's own probe does not read are checked by size only.
	FFprobe string
	// Espeak is the espeak-ng program that speaks text alerts
	// (alerts.espeak).
	Espeak string
	// Chime is the alert chime's media name or sha256 (alerts.chime):
	// alerts refer to it by name, so it is never renamed.
	Chime string
	// Abbreviations are the city's additions to the table of words
	// expanded before speaking (speech.abbreviations; loa/vitext).
	Abbreviations map[string]string
	// Workers is how many transcodes run at once (ingest.workers).
	Workers int
	// MaxUploadMB bounds an upload (ingest.max_upload_mb).
	MaxUploadMB int64
	// Timeout bounds one transcode (ingest.timeout).
	Timeout time.Duration
	// UploadExpiry is how long an unfinished resumable upload is kept
	// (ingest.upload_expiry).
	UploadExpiry time.Duration
	// UploadDir is the folder the parts of resumable uploads are kept in:
	// the media store's tmp folder, on the file system of the library.
	UploadDir string
}

// Files is the content-addressed media store (*mediastore.Store).
type Files interface {
	// TempFile creates a file on the store's file system, for CommitFile.
	TempFile(pattern string) (*os.File, error)
	Has(key string) bool
	// Path is where the file of key lives.
	Path(key string) string
	// CommitFile moves a complete temporary file to dst atomically.
	CommitFile(tmp, dst string) error
	Remove(key string) error
	// CleanTemp removes the temporary files keep does not want kept.
	CleanTemp(keep func(name string) bool) error
}

// DB is the library's rows (the city's database). Lookups answer
// sqlite.ErrNotFound for what is not there; naming answers
// sqlite.ErrExists for a name other media has.
type DB interface {
	Media(ctx context.Context, sha string) (sqlite.CityMedia, error)
	// MediaByOriginal finds media by the sha256 of the file uploaded.
	MediaByOriginal(ctx context.Context, sha string) (sqlite.CityMedia, error)
	// MediaByName returns the key of the media called name.
	MediaByName(ctx context.Context, name string) (string, error)
	AllMedia(ctx context.Context) ([]sqlite.CityMedia, error)
	// NameMedia gives name to the media of key (taking it from other
	// media if replace).
	NameMedia(ctx context.Context, name, key string, replace bool) error
	// AddNamedMedia adds m and names it, in one transaction: nothing is
	// added when the name is refused. created is false when m was there.
	AddNamedMedia(ctx context.Context, m sqlite.CityMedia, name string, replace bool) (created bool, err error)

	AddUpload(ctx context.Context, u sqlite.Upload) error
	Upload(ctx context.Context, id string) (sqlite.Upload, error)
	DeleteUpload(ctx context.Context, id string) error
	// StaleUploads lists the uploads started before cutoff.
	StaleUploads(ctx context.Context, cutoff time.Time) ([]string, error)
}

// NotAudioError is an upload that is not usable audio; Reason says why in
// words an operator understands (HTTP 422).
type NotAudioError struct{ Reason string }

func (e *NotAudioError) Error() string { return "not usable audio: " + e.Reason }

// ErrNameTaken: the upload's name is used by other media (HTTP 409).
var ErrNameTaken = errors.New("name already used")

// ErrTooBig: the upload is over ingest.max_upload_mb (HTTP 413).
var ErrTooBig = errors.New("upload too large")

// Service is the media library.
type Service struct {
	Config Config
	Files  Files
	DB     DB
	// Edit changes and deletes items (edit.go); nil: the library is
	// read-only.
	Edit Editor
	Log  *slog.Logger
	// Now is the clock (upload expiry); tests fake it.
	Now func() time.Time

	// transcodes bounds concurrent ffmpeg runs.
	transcodes chan struct{}
	// uploads: one request at a time per resumable upload.
	uploads lockMap
}

// New returns the library over files and db. A nil log discards.
func New(cfg Config, files Files, db DB, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{Config: cfg, Files: files, DB: db, Log: log, Now: time.Now,
		transcodes: make(chan struct{}, max(cfg.Workers, 1))}
}

func badInput(format string, args ...any) error { return cmdkit.BadInput(format, args...) }

// MaxUpload is the largest upload in bytes.
func (s *Service) MaxUpload() int64 { return s.Config.MaxUploadMB << 20 }

// CheckSize refuses an upload announced as n bytes when it is over the
// limit (ErrTooBig); n < 0 is an unknown size, checked while it arrives.
func (s *Service) CheckSize(n int64) error {
	if n > s.MaxUpload() {
		return fmt.Errorf("%w: %d bytes, limit %d MB", ErrTooBig, n, s.Config.MaxUploadMB)
	}
	return nil
}

// List returns every media item of the library.
func (s *Service) List(ctx context.Context) ([]sqlite.CityMedia, error) {
	return s.DB.AllMedia(ctx)
}

// CheckKey refuses what is not a media key (64 lowercase hex digits).
func CheckKey(key string) error {
	if !mediastore.ValidKey(key) {
		return badInput("%q is not a sha256 key (64 lowercase hex digits)", key)
	}
	return nil
}

// OpenFile opens the file of the media key, to serve it; an error wrapping
// fs.ErrNotExist when the library has no such file.
func (s *Service) OpenFile(key string) (*os.File, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	return os.Open(s.Files.Path(key))
}

// CleanTemp removes what an interrupted ingest left in the store's tmp
// folder (spooled uploads, transcodes); resumable uploads stay.
func (s *Service) CleanTemp() {
	s.Files.CleanTemp(func(n string) bool {
		return !strings.HasPrefix(n, "spool-") && !strings.HasPrefix(n, "canon-") && !strings.HasPrefix(n, "put-")
	})
}
