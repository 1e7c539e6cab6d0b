package city

import (
	"context"
	"path/filepath"
	"time"

	"loa/city/library"
	"loa/sqlite"
)

// The media library is its own service (city/library); these names stay
// here so that the city's callers and c.fail keep theirs.
type (
	// NotAudioError is an upload that is not usable audio (HTTP 422).
	NotAudioError = library.NotAudioError
	// UploadInfo is what an operator says about an upload.
	UploadInfo = library.UploadInfo
	// ToolError is an outside program the configuration needs that is
	// missing or cannot do its job.
	ToolError = library.ToolError
)

var (
	// ErrNameTaken: the upload's name is used by other media (HTTP 409).
	ErrNameTaken = library.ErrNameTaken
	// ErrTooBig: the upload is over ingest.max_upload_mb (HTTP 413).
	ErrTooBig = library.ErrTooBig
)

// The canonical distribution format (city/library).
const (
	CanonicalRate    = library.CanonicalRate
	CanonicalBitrate = library.CanonicalBitrate
)

// libraryConfig is the part of cfg the media library runs on.
func libraryConfig(cfg Config) library.Config {
	return library.Config{FFmpeg: cfg.Ingest.FFmpeg, FFprobe: cfg.Ingest.FFprobe, Espeak: cfg.Alerts.Espeak, Chime: cfg.Alerts.Chime, Abbreviations: cfg.Speech.Abbreviations,
		Workers: cfg.Ingest.Workers, MaxUploadMB: cfg.Ingest.MaxUploadMB,
		Timeout: time.Duration(cfg.Ingest.Timeout), UploadExpiry: time.Duration(cfg.Ingest.UploadExpiry),
		// The media store's tmp folder (mediastore.New(cfg.Data)).
		UploadDir: filepath.Join(cfg.Data, "tmp")}
}

// CheckTools checks every outside program cfg names (library.CheckTools):
// loa-city run refuses to start without them.
func CheckTools(ctx context.Context, cfg Config) error {
	return library.CheckTools(ctx, libraryConfig(cfg))
}

// SetMediaTitle and DeleteMedia make libraryDB the library's Editor.
func (l libraryDB) SetMediaTitle(ctx context.Context, key, title string) error {
	return l.db.Update(ctx, func(tx sqlite.CityTx) error { return tx.SetMediaTitle(ctx, key, title) })
}

// RenameMedia makes libraryDB the library's Renamer: the check of the
// program files and the rename in one transaction.
func (l libraryDB) RenameMedia(ctx context.Context, key, from, to string) (uses []string, err error) {
	err = l.db.Update(ctx, func(tx sqlite.CityTx) error {
		uses, err = tx.RenameMedia(ctx, key, from, to)
		return err
	})
	return uses, err
}

func (l libraryDB) DeleteMedia(ctx context.Context, key string) (uses []string, err error) {
	err = l.db.Update(ctx, func(tx sqlite.CityTx) error {
		uses, err = tx.DeleteMedia(ctx, key, l.db.Now())
		return err
	})
	return uses, err
}

// libraryDB is the library's rows in the city's database.
type libraryDB struct{ db *sqlite.CityDB }

var (
	_ library.DB      = libraryDB{}
	_ library.Renamer = libraryDB{}
)

func (l libraryDB) Media(ctx context.Context, sha string) (sqlite.CityMedia, error) {
	return l.db.Read().Media(ctx, sha)
}

func (l libraryDB) MediaByOriginal(ctx context.Context, sha string) (sqlite.CityMedia, error) {
	return l.db.Read().MediaByOriginal(ctx, sha)
}

func (l libraryDB) MediaByName(ctx context.Context, name string) (string, error) {
	return l.db.Read().MediaByName(ctx, name)
}

func (l libraryDB) AllMedia(ctx context.Context) ([]sqlite.CityMedia, error) {
	return l.db.Read().AllMedia(ctx)
}

func (l libraryDB) NameMedia(ctx context.Context, name, key string, replace bool) error {
	return l.db.Update(ctx, func(tx sqlite.CityTx) error { return tx.NameMedia(ctx, name, key, replace) })
}

func (l libraryDB) AddNamedMedia(ctx context.Context, m sqlite.CityMedia, name string, replace bool) (bool, error) {
	created := false
	err := l.db.Update(ctx, func(tx sqlite.CityTx) error {
		var err error
		if created, err = tx.PutMedia(ctx, m); err != nil {
			return err
		}
		return tx.NameMedia(ctx, name, m.SHA256, replace)
	})
	return created, err
}

func (l libraryDB) AddUpload(ctx context.Context, u sqlite.Upload) error {
	return l.db.Read().AddUpload(ctx, u)
}

func (l libraryDB) Upload(ctx context.Context, id string) (sqlite.Upload, error) {
	return l.db.Read().Upload(ctx, id)
}

func (l libraryDB) DeleteUpload(ctx context.Context, id string) error {
	return l.db.Read().DeleteUpload(ctx, id)
}

func (l libraryDB) StaleUploads(ctx context.Context, cutoff time.Time) ([]string, error) {
	return l.db.Read().StaleUploads(ctx, cutoff)
}
