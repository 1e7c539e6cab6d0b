// Package icecasttest runs a real Icecast2 server (the Debian package) for
// tests, on a free loopback port, as a child process with its
// configuration, logs and pid file in a temporary directory, and feeds it
// with ffmpeg the way a studio encoder would.
//
// Icecast refuses to run as root ("You should not run icecast2 as root")
// unless its configuration has <security><changeowner>: as root (CI, the
// development machines) the server is started with changeowner to
// nobody:nogroup, which is why its directory is world-writable (it drops
// privileges before it opens its logs). As another user it runs as that
// user.
package icecasttest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running icecast2.
type Server struct {
	Port           int
	Dir            string
	SourcePassword string
	AdminPassword  string
	cmd            *exec.Cmd
	done           chan struct{}
	out            *syncBuffer
}

// Start starts icecast2 and waits until it answers. The test is skipped if
// icecast2 or ffmpeg is not installed; the server is stopped (and its
// directory removed) when the test ends, its error log shown if it failed.
func Start(tb testing.TB) *Server {
	tb.Helper()
	for _, p := range []string{"icecast2", "ffmpeg"} {
		if _, err := exec.LookPath(p); err != nil {
			tb.Skipf("%s is not installed (apt-get install %s); this test needs it", p, p)
		}
	}
	dir, err := os.MkdirTemp("", "icecasttest-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	owner := ""
	if os.Geteuid() == 0 {
		owner, err = unprivileged()
		if err != nil {
			tb.Skipf("icecast2 will not run as root, and %v", err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			tb.Fatal(err)
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(dir, owner)
		if err == nil {
			tb.Cleanup(func() {
				s.Stop()
				if tb.Failed() {
					log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
					tb.Logf("icecast2 output:\n%s\nerror.log:\n%s", s.out.String(), tail(log, 40))
				}
			})
			return s
		}
		lastErr = err // the port may have been taken meanwhile: another one
	}
	tb.Fatalf("icecast2 did not start: %v", lastErr)
	return nil
}

// unprivileged returns the changeowner element for nobody, or an error if
// there is no such user.
func unprivileged() (string, error) {
	if _, err := user.Lookup("nobody"); err != nil {
		return "", fmt.Errorf("there is no user nobody to run it as: %v", err)
	}
	group := "nogroup"
	if _, err := user.LookupGroup(group); err != nil {
		group = "nobody"
		if _, err := user.LookupGroup(group); err != nil {
			return "", fmt.Errorf("there is no group nogroup or nobody to run it as")
		}
	}
	return fmt.Sprintf("<changeowner><user>nobody</user><group>%s</group></changeowner>", group), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(dir, owner string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Port: port, Dir: dir, SourcePassword: "loa-source", AdminPassword: "loa-admin", done: make(chan struct{}), out: &syncBuffer{}}
	web, admin := "/usr/share/icecast2/web", "/usr/share/icecast2/admin"
	conf := fmt.Sprintf(`<icecast>
  <location>loa test</location>
  <admin>test@localhost</admin>
  <limits>
    <clients>50</clients>
    <sources>8</sources>
    <queue-size>524288</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout>
    <burst-on-connect>1</burst-on-connect>
    <burst-size>65535</burst-size>
  </limits>
  <authentication>
    <source-password>%s</source-password>
    <relay-password>%s</relay-password>
    <admin-user>admin</admin-user>
    <admin-password>%s</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>%d</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>1</fileserve>
  <paths>
    <basedir>%s</basedir>
    <logdir>%s</logdir>
    <pidfile>%s</pidfile>
    <webroot>%s</webroot>
    <adminroot>%s</adminroot>
  </paths>
  <logging>
    <accesslog>access.log</accesslog>
    <errorlog>error.log</errorlog>
    <loglevel>3</loglevel>
  </logging>
  <security><chroot>0</chroot>%s</security>
</icecast>
`, s.SourcePassword, s.SourcePassword, s.AdminPassword, port, dir, dir, filepath.Join(dir, "icecast.pid"), web, admin, owner)
	path := filepath.Join(dir, "icecast.xml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	s.cmd = exec.Command("icecast2", "-c", path)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return nil, fmt.Errorf("icecast2 exited: %s\n%s", strings.TrimSpace(s.out.String()), tail(log, 10))
		default:
		}
		resp, err := http.Get(s.URL("/status-json.xsl"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("icecast2 does not answer on port %d after 10 s: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// URL is the listener URL of a mount ("/live.mp3").
func (s *Server) URL(mount string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", s.Port, mount)
}

// SourceURL is the URL ffmpeg sends a mount to.
func (s *Server) SourceURL(mount string) string {
	return fmt.Sprintf("icecast://source:%s@127.0.0.1:%d%s", s.SourcePassword, s.Port, mount)
}

// Stop kills the server and waits for it.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
	}
	<-s.done
}

// Mounted says whether a source is connected on mount.
func (s *Server) Mounted(mount string) bool {
	resp, err := http.Get(s.URL("/status-json.xsl"))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return bytes.Contains(b, []byte(`"listenurl":"`+s.URL(mount)+`"`))
}

// WaitMount waits until a source is connected on mount.
func (s *Server) WaitMount(tb testing.TB, mount string, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !s.Mounted(mount) {
		if time.Now().After(deadline) {
			tb.Fatalf("no source on %s after %v", mount, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SetTitle sets the ICY StreamTitle of a mount through the admin interface.
func (s *Server) SetTitle(tb testing.TB, mount, title string) {
	tb.Helper()
	q := url.Values{"mount": {mount}, "mode": {"updinfo"}, "song": {title}, "charset": {"UTF-8"}}
	req, err := http.NewRequest(http.MethodGet, s.URL("/admin/metadata?"+q.Encode()), nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.SetBasicAuth("admin", s.AdminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("set title: %s: %s", resp.Status, b)
	}
}

// Feed is an ffmpeg process sending to a mount in real time (-re).
type Feed struct {
	cmd  *exec.Cmd
	done chan struct{}
	out  *syncBuffer
	once sync.Once
}

// Feed starts ffmpeg sending the lavfi source input (for example
// "sine=f=1000:sample_rate=44100", "anullsrc=r=44100:cl=stereo") to mount
// as 128 kbps stereo MP3, paced in real time, like a studio encoder. It is
// killed when the test ends.
func (s *Server) Feed(tb testing.TB, mount, input string) *Feed {
	tb.Helper()
	return s.FeedAs(tb, mount, input, "mp3")
}

// Encodings FeedAs knows: the encoder's arguments, content type included.
var encodings = map[string][]string{
	"mp3": {"-c:a", "libmp3lame", "-b:a", "128k", "-content_type", "audio/mpeg", "-f", "mp3"},
	"aac": {"-c:a", "aac", "-b:a", "256k", "-content_type", "audio/aac", "-f", "adts"},
	// Ogg pages of 100 ms, as a live encoder sends them (ffmpeg's
	// default, 1 s, holds a page's audio until the page is full).
	"vorbis": {"-c:a", "libvorbis", "-b:a", "128k", "-content_type", "application/ogg", "-page_duration", "100000", "-f", "ogg"},
	"opus":   {"-c:a", "libopus", "-b:a", "96k", "-content_type", "audio/ogg", "-page_duration", "100000", "-f", "ogg"},
}

// FeedAs is Feed in another encoding: "mp3", "aac" (ADTS), "vorbis" or
// "opus" (in Ogg).
func (s *Server) FeedAs(tb testing.TB, mount, input, encoding string) *Feed {
	tb.Helper()
	enc, ok := encodings[encoding]
	if !ok {
		tb.Fatalf("icecasttest: no encoding %q", encoding)
	}
	ctx := context.Background()
	f := &Feed{done: make(chan struct{}), out: &syncBuffer{}}
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin",
		"-re", "-f", "lavfi", "-i", input, "-ac", "2"}
	args = append(args, enc...)
	f.cmd = exec.CommandContext(ctx, "ffmpeg", append(args, s.SourceURL(mount))...)
	f.cmd.Stdout, f.cmd.Stderr = f.out, f.out
	if err := f.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { f.cmd.Wait(); close(f.done) }()
	tb.Cleanup(func() {
		f.Kill()
		if tb.Failed() && f.out.Len() > 0 {
			tb.Logf("ffmpeg feeding %s:\n%s", mount, f.out.String())
		}
	})
	return f
}

// Kill kills ffmpeg (the encoder dies: no clean end of stream) and waits
// for it.
func (f *Feed) Kill() {
	f.once.Do(func() {
		if f.cmd.Process != nil {
			f.cmd.Process.Kill()
		}
	})
	<-f.done
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

func tail(b []byte, lines int) string {
	s := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(s) > lines {
		s = s[len(s)-lines:]
	}
	return strings.Join(s, "\n")
}
