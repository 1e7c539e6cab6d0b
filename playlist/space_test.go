package playlist_test

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"loa/manifest"
	"loa/playlist"
)

// A verified download the station cannot take for lack of space is kept:
// the next round takes it from the disk, not from the city again.
func TestVerifiedDownloadKeptWhenTheDiskIsFull(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	s := e.syncer(p.URL)
	e.st.AddErr = fmt.Errorf("decode into the cache: write /data/tmp/cache.wav: %w", syscall.ENOSPC)
	for range 3 {
		if err := s.Poll(t.Context()); err == nil || !strings.Contains(err.Error(), "no space left") {
			t.Fatalf("station out of space: %v", err)
		}
	}
	if got := partials(t, e); got["download-"+e.media["a"].SHA256+".part"] != e.media["a"].Size {
		t.Fatalf("verified download not kept: %v", got)
	}
	e.st.AddErr = nil
	e.converged(t, s)
	if n := strings.Count(strings.Join(p.log(), "\n"), "/api/v1/media/"); n != 1 {
		t.Errorf("media fetched %d times, want once:\n%s", n, strings.Join(p.log(), "\n"))
	}
}

// Below the floor (Config.Space says no) media are not downloaded at all,
// and the round says why; once there is space the round completes.
func TestNoDownloadBelowTheDiskFloor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	low := errors.New("Sắp đầy đĩa / disk almost full")
	full := true
	s := e.syncer(p.URL, func(c *playlist.Config) {
		c.Space = func() error {
			if full {
				return low
			}
			return nil
		}
	})
	if err := s.Poll(t.Context()); !errors.Is(err, low) {
		t.Fatalf("round below the floor: %v", err)
	}
	if st := s.Status(); !strings.Contains(st.LastError, "disk almost full") {
		t.Fatalf("status: %+v", st)
	}
	if n := strings.Count(strings.Join(p.log(), "\n"), "/api/v1/media/"); n != 0 {
		t.Fatalf("media fetched below the floor:\n%s", strings.Join(p.log(), "\n"))
	}
	full = false
	e.converged(t, s)
}

// The same for an alert's media fetched outside a round.
func TestFetchMediaKeptWhenTheDiskIsFull(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := newProxy(t, e.c.URL)
	s := e.syncer(p.URL)
	a := e.media["a"]
	md := manifest.Media{SHA256: a.SHA256, Size: a.Size}
	e.st.AddErr = fmt.Errorf("write cache: %w", syscall.ENOSPC)
	for range 2 {
		if err := s.FetchMedia(t.Context(), md); err == nil || !strings.Contains(err.Error(), "no space left") {
			t.Fatalf("station out of space: %v", err)
		}
	}
	e.st.AddErr = nil
	if err := s.FetchMedia(t.Context(), md); err != nil || !e.st.HasMedia(a.SHA256) {
		t.Fatalf("with space: %v", err)
	}
	if n := strings.Count(strings.Join(p.log(), "\n"), "/api/v1/media/"); n != 1 {
		t.Errorf("media fetched %d times, want once:\n%s", n, strings.Join(p.log(), "\n"))
	}
	if got := partials(t, e); len(got) != 0 {
		t.Errorf("partial files left: %v", got)
	}
}
