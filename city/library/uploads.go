package library

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"loa/mediastore"
	"loa/sqlite"
)

// A resumable upload is a row (who, what name, how many bytes in all) and
// a file in Config.UploadDir that grows by each PATCH until it has every
// byte, when it is ingested like a one-request upload.

// NotYoursError is an upload another user started (HTTP 403): only they,
// or an admin, may see it, add to it or abandon it.
type NotYoursError struct{ ID, Owner string }

func (e *NotYoursError) Error() string { return fmt.Sprintf("upload %s belongs to %s", e.ID, e.Owner) }

// OffsetError is a piece sent for the wrong place: the upload has Have
// bytes, the piece starts at At (HTTP 409, resume from Have).
type OffsetError struct{ Have, At int64 }

func (e *OffsetError) Error() string {
	return fmt.Sprintf("the upload has %d bytes, not %d: resume from %d", e.Have, e.At, e.Have)
}

// Caller is who asks about an upload: its creator, or an admin, may.
type Caller struct {
	Name  string
	Admin bool
}

// Progress is where a resumable upload stands after a piece.
type Progress struct {
	Upload sqlite.Upload
	// Offset is how many bytes the upload has.
	Offset int64
	// Written: the piece was taken (Offset is the new length), even if
	// the error says it arrived only in part.
	Written bool
	// Done: the upload is complete and ingested as Media.
	Done    bool
	Media   sqlite.CityMedia
	Created bool
}

// ValidUploadID reports whether id is an upload id (32 lowercase hex
// digits), so that it can name a file.
func ValidUploadID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

func (s *Service) uploadPath(id string) string {
	return filepath.Join(s.Config.UploadDir, "upload-"+id+".part")
}

// StartUpload starts a resumable upload of size bytes.
func (s *Service) StartUpload(ctx context.Context, info UploadInfo, size int64) (sqlite.Upload, error) {
	if err := info.check(); err != nil {
		return sqlite.Upload{}, err
	}
	if size < 1 {
		return sqlite.Upload{}, badInput("size: want the file's size in bytes")
	}
	if err := s.CheckSize(size); err != nil {
		return sqlite.Upload{}, err
	}
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	f, err := os.OpenFile(s.uploadPath(id), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return sqlite.Upload{}, err
	}
	f.Close()
	u := sqlite.Upload{ID: id, Name: info.Name, Title: info.Title, Size: size, Replace: info.Replace, CreatedBy: info.By, CreatedAt: s.Now()}
	if err := s.DB.AddUpload(ctx, u); err != nil {
		os.Remove(s.uploadPath(id))
		return sqlite.Upload{}, err
	}
	return u, nil
}

// upload finds an upload of who's and how many bytes it has. The caller
// holds its lock.
func (s *Service) upload(ctx context.Context, id string, who Caller) (sqlite.Upload, int64, error) {
	if !ValidUploadID(id) {
		return sqlite.Upload{}, 0, badInput("%q is not an upload id", id)
	}
	u, err := s.DB.Upload(ctx, id)
	if err != nil {
		return u, 0, err
	}
	if u.CreatedBy != who.Name && !who.Admin {
		return u, 0, &NotYoursError{ID: id, Owner: u.CreatedBy}
	}
	st, err := os.Stat(s.uploadPath(id))
	if err != nil {
		return u, 0, err
	}
	return u, st.Size(), nil
}

// Upload returns the upload id of who's and how many bytes it has.
func (s *Service) Upload(ctx context.Context, id string, who Caller) (sqlite.Upload, int64, error) {
	unlock := s.uploads.lock(id)
	defer unlock()
	return s.upload(ctx, id, who)
}

// Append adds the bytes of body at offset at to the upload id of who's;
// the piece that completes it ingests the file. A piece cut short keeps
// what arrived (Written, and an error).
func (s *Service) Append(ctx context.Context, id string, who Caller, at int64, body io.Reader) (Progress, error) {
	unlock := s.uploads.lock(id)
	defer unlock()
	u, off, err := s.upload(ctx, id, who)
	if err != nil {
		return Progress{}, err
	}
	p := Progress{Upload: u, Offset: off}
	if at != off {
		return p, &OffsetError{Have: off, At: at}
	}
	path := s.uploadPath(u.ID)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return p, err
	}
	n, cerr := io.Copy(f, io.LimitReader(body, u.Size-off+1))
	if err := f.Sync(); cerr == nil {
		cerr = err
	}
	f.Close()
	off += n
	if off > u.Size {
		os.Truncate(path, u.Size)
		return p, badInput("more bytes than the announced size %d", u.Size)
	}
	p.Offset, p.Written = off, true
	if cerr != nil {
		// The client went away mid-body: what arrived is kept.
		s.Log.Info("upload interrupted", "upload", u.ID, "offset", off, "err", cerr)
		return p, badInput("upload interrupted at %d: %v", off, cerr)
	}
	if off < u.Size {
		return p, nil
	}
	sha, size, err := mediastore.HashFile(path)
	if err != nil {
		return p, err
	}
	m, created, err := s.IngestFile(ctx, path, sha, size,
		UploadInfo{Name: u.Name, Title: u.Title, By: u.CreatedBy, Replace: u.Replace})
	var notAudio *NotAudioError
	if err == nil || errors.As(err, &notAudio) || errors.Is(err, ErrNameTaken) {
		// Done with the bytes either way: a bad file will not get better.
		s.DB.DeleteUpload(context.WithoutCancel(ctx), u.ID)
		os.Remove(path)
	}
	if err != nil {
		return p, err
	}
	p.Done, p.Media, p.Created = true, m, created
	return p, nil
}

// DeleteUpload abandons the upload id of who's.
func (s *Service) DeleteUpload(ctx context.Context, id string, who Caller) error {
	unlock := s.uploads.lock(id)
	defer unlock()
	u, _, err := s.upload(ctx, id, who)
	if err != nil {
		return err
	}
	if err := s.DB.DeleteUpload(ctx, u.ID); err != nil {
		return err
	}
	os.Remove(s.uploadPath(u.ID))
	return nil
}

// ExpireUploads removes resumable uploads older than ingest.upload_expiry.
func (s *Service) ExpireUploads(ctx context.Context) error {
	ids, err := s.DB.StaleUploads(ctx, s.Now().Add(-s.Config.UploadExpiry))
	if err != nil {
		return err
	}
	for _, id := range ids {
		unlock := s.uploads.lock(id)
		os.Remove(s.uploadPath(id))
		err = errors.Join(err, s.DB.DeleteUpload(ctx, id))
		unlock()
	}
	return err
}

// lockMap hands out one mutex per key (an upload id), so that two requests
// never append to the same upload at once.
type lockMap struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int
}

func (m *lockMap) lock(key string) func() {
	m.mu.Lock()
	if m.locks == nil {
		m.locks = map[string]*keyLock{}
	}
	l := m.locks[key]
	if l == nil {
		l = &keyLock{}
		m.locks[key] = l
	}
	l.users++
	m.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		m.mu.Lock()
		if l.users--; l.users == 0 {
			delete(m.locks, key)
		}
		m.mu.Unlock()
	}
}
