package e2e

// The packaged product: example configurations, systemd units, the .deb
// packages, their life cycle on a Debian root, and the ARM builds.
//
// The example and unit tests run everywhere (the unit test needs
// systemd-analyze). The rest needs what scripts/package-ci.sh builds, and
// is skipped without it:
//
//	LOA_DIST    the dist folder: ARCH/ binaries and deb/ packages
//	LOA_CHROOT  a debootstrapped Debian root (minbase, adduser, libasound2),
//	            copied for each test; needs root for chroot(2)

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"loa/agent"
	"loa/city"
	"loa/internal/testwait"
)

// commentedKey is an example line that holds a key with its default,
// commented out: "#  buffer: 150ms   # explanation".
var commentedKey = regexp.MustCompile(`^#(\s*[a-z_]+:(\s.*)?)$`)

// uncomment turns an example configuration into the configuration it
// documents: every commented key line becomes a real one. Lines keep their
// numbers.
func uncomment(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if m := commentedKey.FindStringSubmatch(l); m != nil {
			lines[i] = m[1]
		}
	}
	return strings.Join(lines, "\n")
}

// yamlKeys lists the dotted yaml keys of a configuration struct's leaves.
func yamlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, yamlKeys(f.Type, prefix+name+".")...)
			continue
		}
		keys = append(keys, prefix+name)
	}
	return keys
}

// keyNode finds a dotted key in a YAML document: its key and value nodes.
func keyNode(doc *yaml.Node, dotted string) (*yaml.Node, *yaml.Node) {
	n := doc.Content[0]
	var k *yaml.Node
	for _, part := range strings.Split(dotted, ".") {
		if n.Kind != yaml.MappingNode {
			return nil, nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				k, next = n.Content[i], n.Content[i+1]
			}
		}
		if next == nil {
			return nil, nil
		}
		n = next
	}
	return k, n
}

// checkExample checks an example configuration against its struct: every
// key is there, explained, and the values it shows are the defaults.
func checkExample(t *testing.T, file string, typ reflect.Type, load func(path string) (any, error)) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	full := uncomment(string(b))
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(full), &doc); err != nil {
		t.Fatalf("%s with every key uncommented is not YAML: %v", file, err)
	}
	for _, key := range yamlKeys(typ, "") {
		k, v := keyNode(&doc, key)
		if k == nil {
			t.Errorf("%s: key %s (in %s) is missing", file, key, typ)
			continue
		}
		if v.LineComment == "" && k.LineComment == "" && k.HeadComment == "" {
			t.Errorf("%s:%d: key %s has no explanation", file, k.Line, key)
		}
	}
	tmp := filepath.Join(t.TempDir(), filepath.Base(file))
	os.WriteFile(tmp, []byte(full), 0o600)
	shown, err := load(tmp)
	if err != nil {
		t.Fatalf("%s with every key uncommented does not load: %v", file, err)
	}
	defaults, err := load("")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := yaml.Marshal(shown)
	want, _ := yaml.Marshal(defaults)
	if !bytes.Equal(got, want) {
		t.Errorf("%s shows values that are not the defaults:\nshown:\n%s\ndefaults:\n%s", file, got, want)
	}
}

// The example configurations cannot drift from the code: every key of the
// Config structs appears, with an explanation, and the values shown are the
// defaults.
func TestExampleConfigListsEveryKey(t *testing.T) {
	t.Run("agent", func(t *testing.T) {
		checkExample(t, "../systemd/loa-agent.conf", reflect.TypeOf(agent.Config{}), func(path string) (any, error) {
			if path == "" {
				return agent.DefaultConfig(), nil
			}
			return agent.LoadConfig(path, true)
		})
	})
	t.Run("city", func(t *testing.T) {
		checkExample(t, "../systemd/loa-city.conf", reflect.TypeOf(city.Config{}), func(path string) (any, error) {
			return city.LoadConfig(path)
		})
	})
	// The packaged file as shipped (keys commented) is the defaults too.
	cfg, err := agent.LoadConfig("../systemd/loa-agent.conf", true)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := yaml.Marshal(cfg)
	want, _ := yaml.Marshal(agent.DefaultConfig())
	if !bytes.Equal(got, want) {
		t.Errorf("the shipped agent.conf is not the defaults:\n%s", got)
	}
}

// unitDirectives reads a unit file's Key=Value lines.
func unitDirectives(t *testing.T, path string) map[string][]string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := map[string][]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			d[k] = append(d[k], v)
		}
	}
	return d
}

func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd; scripts/build-deps.sh does)")
	}
	dir := t.TempDir()
	for _, name := range []string{"loa-agent", "loa-city"} {
		b, err := os.ReadFile("../systemd/" + name + ".service")
		if err != nil {
			t.Fatal(err)
		}
		// verify wants ExecStart's program to exist: the binary just built.
		text := strings.ReplaceAll(string(b), "/usr/bin/"+name, filepath.Join(bin, name))
		unit := filepath.Join(dir, name+".service")
		os.WriteFile(unit, []byte(text), 0o644)
		out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
		}
		if out, err := exec.Command(analyze, "security", "--offline=yes", unit).CombinedOutput(); err == nil {
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			t.Logf("%s", lines[len(lines)-1])
		}
	}

	// What the agent relies on, and hardening that would break it.
	d := unitDirectives(t, "../systemd/loa-agent.service")
	for key, want := range map[string]string{
		"Type": "notify", "WatchdogSec": "30", "Restart": "always", "User": "loa", "StateDirectory": "loa",
		"ExecStart": "/usr/bin/loa-agent run --config " + agent.DefaultConfigPath,
	} {
		if got := strings.Join(d[key], " "); got != want {
			t.Errorf("loa-agent.service %s=%q, want %q", key, got, want)
		}
	}
	for key, why := range map[string]string{
		"PrivateDevices": "hides /dev/snd and /dev/gpiochip*",
		"ProtectClock":   "forbids adjtimex(2): the clock would never be trusted and nothing would play",
		"ProcSubset":     "hides /proc/asound from ALSA",
		"PrivateUsers":   "drops the audio group",
	} {
		if v := d[key]; len(v) > 0 && v[len(v)-1] != "no" {
			t.Errorf("loa-agent.service sets %s=%s: it %s", key, v[len(v)-1], why)
		}
	}
	if dev := strings.Join(d["DeviceAllow"], ";"); !strings.Contains(dev, "char-alsa rw") || !strings.Contains(dev, "char-gpiochip rw") {
		t.Errorf("loa-agent.service DeviceAllow=%q: the sound card and GPIO must stay reachable", dev)
	}
	if af := strings.Join(d["RestrictAddressFamilies"], " "); !strings.Contains(af, "AF_UNIX") {
		t.Errorf("RestrictAddressFamilies=%q: sd_notify needs AF_UNIX", af)
	}
	if sf := strings.Join(d["SystemCallFilter"], " "); strings.Contains(sf, "@clock") || strings.Contains(sf, "@privileged") || (sf != "" && !strings.HasPrefix(sf, "~")) {
		t.Errorf("SystemCallFilter=%q may refuse adjtimex(2)", sf)
	}
}

// dist returns LOA_DIST, or skips.
func dist(t testing.TB) string {
	d := os.Getenv("LOA_DIST")
	if d == "" {
		t.Skip("LOA_DIST not set: scripts/package-ci.sh builds the packages and ARM binaries and runs this test")
	}
	return d
}

// deb finds the package file of pkg for arch in dist.
func deb(t testing.TB, dist, pkg, arch string) string {
	m, _ := filepath.Glob(filepath.Join(dist, "deb", pkg+"_*_"+arch+".deb"))
	if len(m) != 1 {
		t.Fatalf("want one %s package for %s in %s/deb, found %v", pkg, arch, dist, m)
	}
	return m[0]
}

func nativeArch() string {
	if runtime.GOARCH == "arm" {
		return "armhf"
	}
	return runtime.GOARCH
}

func must(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// control reads the fields of a package's control file.
func control(t *testing.T, debFile string) map[string]string {
	f := map[string]string{}
	var last string
	for _, l := range strings.Split(must(t, "dpkg-deb", "-f", debFile), "\n") {
		if strings.HasPrefix(l, " ") {
			f[last] += "\n" + l
			continue
		}
		if k, v, ok := strings.Cut(l, ": "); ok {
			f[k], last = v, k
		}
	}
	return f
}

var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "armhf": elf.EM_ARM}

func TestPackageContents(t *testing.T) {
	d := dist(t)
	type file struct {
		mode string
		path string
	}
	want := map[string][]file{
		"loa-agent": {{"-rw-r-----", "./etc/loa/agent.conf"}, {"-rwxr-xr-x", "./usr/bin/loa-agent"},
			{"-rw-r--r--", "./usr/lib/systemd/system/loa-agent.service"},
			{"-rw-r--r--", "./usr/share/doc/loa-agent/hardware.md"}, {"-rw-r--r--", "./usr/share/doc/loa-agent/install.md"}},
		"loa-city": {{"-rw-r-----", "./etc/loa/city.conf"}, {"-rwxr-xr-x", "./usr/bin/loa-city"},
			{"-rw-r--r--", "./usr/lib/systemd/system/loa-city.service"},
			{"-rw-r--r--", "./usr/share/doc/loa-city/api.md"}, {"-rw-r--r--", "./usr/share/doc/loa-city/install.md"}},
		"loactl": {{"-rwxr-xr-x", "./usr/bin/loactl"}},
	}
	// What Debian asks of every package: the copyright file, a changelog,
	// a manual page per program; and lintian's overrides, with reasons.
	for pkg := range want {
		want[pkg] = append(want[pkg], file{"-rw-r--r--", "./usr/share/doc/" + pkg + "/changelog.gz"},
			file{"-rw-r--r--", "./usr/share/doc/" + pkg + "/copyright"}, file{"-rw-r--r--", "./usr/share/lintian/overrides/" + pkg},
			file{"-rw-r--r--", "./usr/share/man/man1/" + pkg + ".1.gz"})
		sort.Slice(want[pkg], func(i, j int) bool { return want[pkg][i].path < want[pkg][j].path })
	}
	for _, arch := range []string{"amd64", "arm64", "armhf"} {
		for _, pkg := range []string{"loa-agent", "loa-city", "loactl"} {
			t.Run(pkg+"_"+arch, func(t *testing.T) {
				debFile := deb(t, d, pkg, arch)
				st, _ := os.Stat(debFile)
				t.Logf("%s: %d bytes", filepath.Base(debFile), st.Size())
				c := control(t, debFile)
				version := strings.Split(filepath.Base(debFile), "_")[1]
				if c["Package"] != pkg || c["Architecture"] != arch || c["Version"] != version || c["Installed-Size"] == "" || c["Maintainer"] == "" {
					t.Errorf("control: %v", c)
				}
				switch pkg {
				case "loa-agent":
					dep := c["Depends"]
					if !regexp.MustCompile(`^libc6 \(>= 2\.\d+\), libasound2 \(>= 1\.0\.16\) \| libasound2t64, adduser$`).MatchString(dep) {
						t.Errorf("Depends: %q", dep)
					}
				case "loa-city":
					if c["Depends"] != "ffmpeg, espeak-ng, tzdata, adduser" {
						t.Errorf("Depends: %q", c["Depends"])
					}
				case "loactl":
					if c["Depends"] != "" {
						t.Errorf("loactl is static, yet Depends: %q", c["Depends"])
					}
				}

				// Files: exactly these, owned by root, with these modes.
				var got []file
				for _, l := range strings.Split(strings.TrimSpace(must(t, "dpkg-deb", "-c", debFile)), "\n") {
					f := strings.Fields(l)
					if len(f) < 6 {
						t.Fatalf("dpkg-deb -c line %q", l)
					}
					if f[1] != "root/root" {
						t.Errorf("%s owned by %s", f[5], f[1])
					}
					if strings.HasPrefix(f[0], "d") {
						if f[0] != "drwxr-xr-x" {
							t.Errorf("folder %s mode %s", f[5], f[0])
						}
						continue
					}
					got = append(got, file{f[0], f[5]})
				}
				sort.Slice(got, func(i, j int) bool { return got[i].path < got[j].path })
				if !reflect.DeepEqual(got, want[pkg]) {
					t.Errorf("files:\n got %v\nwant %v", got, want[pkg])
				}

				// Maintainer scripts and conffiles.
				ctl := t.TempDir()
				must(t, "dpkg-deb", "-e", debFile, ctl)
				conffiles, _ := os.ReadFile(filepath.Join(ctl, "conffiles"))
				wantConf := map[string]string{"loa-agent": "/etc/loa/agent.conf\n", "loa-city": "/etc/loa/city.conf\n"}[pkg]
				if string(conffiles) != wantConf {
					t.Errorf("conffiles %q, want %q", conffiles, wantConf)
				}
				scripts, _ := filepath.Glob(filepath.Join(ctl, "*st*"))
				for _, s := range scripts {
					if out, err := exec.Command("sh", "-n", s).CombinedOutput(); err != nil {
						t.Errorf("%s: %v %s", filepath.Base(s), err, out)
					}
				}

				// The binary is for the package's architecture and stamped.
				root := t.TempDir()
				must(t, "dpkg-deb", "-x", debFile, root)
				exe := filepath.Join(root, "usr", "bin", pkg)
				ef, err := elf.Open(exe)
				if err != nil {
					t.Fatal(err)
				}
				defer ef.Close()
				if ef.Machine != elfMachine[arch] {
					t.Errorf("%s is %s code in the %s package", pkg, ef.Machine, arch)
				}
				if pkg == "loactl" {
					return
				}
				if arch == nativeArch() {
					if out := must(t, exe, "version"); !strings.HasPrefix(out, pkg+" ") || strings.Contains(out, " dev") {
						t.Errorf("%s version: %q (want a stamped version)", pkg, out)
					}
				}
			})
		}
	}
}

// chroot is a throwaway Debian root.
type chroot struct {
	t    *testing.T
	dir  string
	env  []string
	uids map[string][2]int
}

func newChroot(t *testing.T) *chroot {
	base := os.Getenv("LOA_CHROOT")
	if base == "" {
		t.Skip("LOA_CHROOT not set: scripts/package-ci.sh makes a Debian root with debootstrap and runs this test")
	}
	if os.Geteuid() != 0 {
		t.Skip("chroot(2) needs root")
	}
	dir := filepath.Join(t.TempDir(), "root")
	must(t, "cp", "-a", base, dir)
	return &chroot{t: t, dir: dir, env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"}}
}

// run runs a command inside the root (as root, or as user:group ids) and
// returns its output and error.
func (c *chroot) run(user string, args ...string) (string, error) {
	a := []string{}
	if user != "" {
		ids := c.ids(user)
		a = append(a, fmt.Sprintf("--userspec=%d:%d", ids[0], ids[1]))
	}
	a = append(append(a, c.dir), args...)
	cmd := exec.Command("chroot", a...)
	cmd.Env = c.env
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *chroot) must(user string, args ...string) string {
	c.t.Helper()
	out, err := c.run(user, args...)
	if err != nil {
		c.t.Fatalf("in the root: %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// ids returns a user's uid and primary gid in the root.
func (c *chroot) ids(user string) [2]int {
	c.t.Helper()
	for _, l := range strings.Split(c.read("/etc/passwd"), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 7 && f[0] == user {
			uid, _ := strconv.Atoi(f[2])
			gid, _ := strconv.Atoi(f[3])
			return [2]int{uid, gid}
		}
	}
	c.t.Fatalf("no user %s in the root", user)
	return [2]int{}
}

func (c *chroot) read(path string) string {
	b, _ := os.ReadFile(filepath.Join(c.dir, path))
	return string(b)
}

// entry finds a line of /etc/passwd or /etc/group by its first field.
func (c *chroot) entry(file, name string) []string {
	for _, l := range strings.Split(c.read(file), "\n") {
		if f := strings.Split(l, ":"); f[0] == name {
			return f
		}
	}
	return nil
}

// stat checks a path's mode and owner in the root.
func (c *chroot) stat(path string, mode os.FileMode, uid, gid int) {
	c.t.Helper()
	st, err := os.Lstat(filepath.Join(c.dir, path))
	if err != nil {
		c.t.Errorf("%s: %v", path, err)
		return
	}
	s := st.Sys().(*syscall.Stat_t)
	u, g := s.Uid, s.Gid
	if st.Mode().Perm() != mode || int(u) != uid || int(g) != gid {
		c.t.Errorf("%s: mode %v owner %d:%d, want %v %d:%d", path, st.Mode().Perm(), u, g, mode, uid, gid)
	}
}

func (c *chroot) exists(path string) bool {
	_, err := os.Lstat(filepath.Join(c.dir, path))
	return err == nil
}

// renderFixture writes a program that exercises what could differ between
// builds: resampling (a 22.05 kHz item), the MP3 decoder, gain (volume 80),
// a chime, and an emergency alert cutting in with its ramps and the limiter.
// sox runs without dither (-D), so the fixture is the same on every run.
// It returns the render arguments (paths relative to dir).
func renderFixture(t testing.TB, dir string) []string {
	for _, tool := range []string{"sox", "lame"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/deps.sh installs it)", tool)
		}
	}
	media := filepath.Join(dir, "media")
	os.MkdirAll(media, 0o755)
	for _, c := range [][]string{
		{"sox", "-D", "-n", "-r", "44100", "-c", "1", "-b", "16", filepath.Join(media, "a.wav"), "synth", "8", "sine", "440", "vol", "0.5"},
		{"sox", "-D", "-n", "-r", "22050", "-c", "1", "-b", "16", filepath.Join(media, "b.wav"), "synth", "6", "sine", "660", "vol", "0.4"},
		{"sox", "-D", "-n", "-r", "44100", "-c", "1", "-b", "16", filepath.Join(media, "c.wav"), "synth", "5", "sine", "300", "vol", "0.5"},
		{"lame", "--quiet", "-b", "64", filepath.Join(media, "c.wav"), filepath.Join(media, "c.mp3")},
		{"sox", "-D", "-n", "-r", "44100", "-c", "1", "-b", "16", filepath.Join(media, "chime.wav"), "synth", "1", "sine", "880", "vol", "0.3"},
		{"sox", "-D", "-n", "-r", "44100", "-c", "1", "-b", "16", filepath.Join(media, "alert.wav"), "synth", "3", "sine", "1000", "vol", "0.9"},
	} {
		must(t, c[0], c[1:]...)
	}
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(`programs:
  - id: sang
    title: Bản tin sáng
    cron: "0 6 * * *"
    chime: media/chime.wav
    volume: 80
    items: [media/a.wav, media/b.wav, media/c.mp3]
`), 0o644)
	os.WriteFile(filepath.Join(dir, "alert.yaml"), []byte("priority: emergency\nmedia: media/alert.wav\nrepeat: 2\ngap: 1s\n"), 0o644)
	return []string{"render", "--program", "p.yaml", "--from", "2026-11-26 06:00:00", "--duration", "30s", "--alert", "alert.yaml@+00:10", "--out"}
}

// wavSamples reads the 16-bit samples of a WAV file loa wrote.
func wavSamples(t testing.TB, path string) []int16 {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[:4]) != "RIFF" || binary.LittleEndian.Uint16(b[34:]) != 16 {
		t.Fatalf("%s: not a 16-bit WAV", path)
	}
	s := make([]int16, (len(b)-44)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[44+2*i:]))
	}
	return s
}

func TestPackageLifecycle(t *testing.T) {
	d := dist(t)
	c := newChroot(t)
	arch := nativeArch()
	debs := map[string]string{}
	for _, p := range []string{"loa-agent", "loa-city", "loactl"} {
		f := deb(t, d, p, arch)
		must(t, "cp", f, filepath.Join(c.dir, "tmp", p+".deb"))
		debs[p] = f
	}

	// Install: the user, the folders, the modes; nothing started.
	out := c.must("", "dpkg", "-i", "/tmp/loa-agent.deb")
	if !strings.Contains(out, "nothing is started yet") || !strings.Contains(out, "loa-agent join") {
		t.Errorf("install says:\n%s", out)
	}
	pw := c.entry("/etc/passwd", "loa")
	if pw == nil || pw[5] != "/var/lib/loa" || pw[6] != "/usr/sbin/nologin" {
		t.Fatalf("loa user: %v", pw)
	}
	ids := c.ids("loa")
	if ids[0] >= 1000 {
		t.Errorf("loa is not a system user: uid %d", ids[0])
	}
	if g := c.entry("/etc/group", "loa"); g == nil || g[2] != strconv.Itoa(ids[1]) {
		t.Errorf("loa group: %v (user's gid %d)", g, ids[1])
	}
	if g := c.entry("/etc/group", "audio"); g == nil || !strings.Contains(","+g[3]+",", ",loa,") {
		t.Errorf("loa is not in the audio group: %v", g)
	}
	c.stat("/var/lib/loa", 0o750, ids[0], ids[1])
	c.stat("/etc/loa/agent.conf", 0o640, 0, ids[1])
	c.stat("/usr/bin/loa-agent", 0o755, 0, 0)
	c.stat("/usr/lib/systemd/system/loa-agent.service", 0o644, 0, 0)
	if out := c.must("", "/usr/bin/loa-agent", "--help"); !strings.Contains(out, "loa-agent join") {
		t.Errorf("--help in the root:\n%s", out)
	}

	// The installed binary renders, as the loa user, what the binary under
	// test renders here: the same bytes.
	prog := filepath.Join(c.dir, "tmp", "prog")
	os.MkdirAll(prog, 0o777)
	os.Chmod(prog, 0o777)
	args := renderFixture(t, prog)
	c.must("loa", "/bin/sh", "-c", "cd /tmp/prog && /usr/bin/loa-agent "+strings.Join(quoteAll(args), " ")+" inside.wav")
	host := exec.Command(filepath.Join(bin, "loa-agent"), append(args, "host.wav")...)
	host.Dir = prog
	if out, err := host.CombinedOutput(); err != nil {
		t.Fatalf("render here: %v\n%s", err, out)
	}
	in, here := wavSamples(t, filepath.Join(prog, "inside.wav")), wavSamples(t, filepath.Join(prog, "host.wav"))
	if len(in) != 30*44100*2 || !reflect.DeepEqual(in, here) {
		t.Errorf("the packaged binary renders %d samples unlike the one under test (%d)", len(in), len(here))
	}

	// Configure: join a real city, from inside the root.
	cityDir := t.TempDir()
	cityAddr := freePort(t)
	cityConf := filepath.Join(cityDir, "city.conf")
	os.WriteFile(cityConf, []byte(fmt.Sprintf("data: %s/data\nlisten: %s\nlog:\n  level: warn\n", cityDir, cityAddr)), 0o600)
	loaCity := filepath.Join(bin, "loa-city")
	added := must(t, loaCity, "ward", "add", "phuong-9", "--group", "quan-3", "--config", cityConf)
	code := regexp.MustCompile(`join code: (\S+)`).FindStringSubmatch(added)
	keyID := regexp.MustCompile(`key id:\s+([0-9a-f]{16})`).FindStringSubmatch(must(t, loaCity, "key", "--config", cityConf))
	if code == nil || keyID == nil {
		t.Fatalf("ward add / key printed:\n%s", added)
	}
	cityProc := exec.Command(loaCity, "run", "--config", cityConf)
	if err := cityProc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cityProc.Process.Kill(); cityProc.Wait() })
	waitHTTP(t, "http://"+cityAddr+"/healthz", 15*time.Second)

	out = c.must("", "/usr/bin/loa-agent", "join", "--city", "http://"+cityAddr, "--code", code[1], "--fingerprint", keyID[1])
	if !strings.Contains(out, "joined: ward phuong-9 (groups: quan-3)") || !strings.Contains(out, "systemd is not running here") {
		t.Errorf("join in the root:\n%s", out)
	}
	c.stat("/etc/loa/agent.conf", 0o640, 0, ids[1])
	confPath := filepath.Join(c.dir, "etc/loa/agent.conf")
	cfg, err := agent.LoadConfig(confPath, true)
	if err != nil || cfg.Ward != "phuong-9" || cfg.City.URL != "http://"+cityAddr || !strings.HasPrefix(cfg.City.Token, "loaw_") {
		t.Fatalf("config after join: %+v %v", cfg, err)
	}

	// Start: the daemon, as loa, reads its 0640 configuration, makes its
	// database in /var/lib/loa and answers /healthz. (systemd does not run
	// in a chroot; the unit is checked by TestSystemdUnits.)
	agentAddr := freePort(t)
	f, _ := os.OpenFile(confPath, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "clock: trust\naudio:\n  output: null\nhttp:\n  listen: %s\n", agentAddr)
	f.Close()
	daemon := exec.Command("chroot", fmt.Sprintf("--userspec=%d:%d", ids[0], ids[1]), c.dir, "/usr/bin/loa-agent", "run", "--config", "/etc/loa/agent.conf")
	daemon.Env = c.env
	var dlog bytes.Buffer
	daemon.Stdout, daemon.Stderr = &dlog, &dlog
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, "http://"+agentAddr+"/healthz", 15*time.Second)
	if out := c.must("", "/usr/bin/loa-agent", "status"); !strings.Contains(out, "phuong-9") {
		t.Errorf("status:\n%s", out)
	}
	daemon.Process.Signal(syscall.SIGTERM)
	if err := daemon.Wait(); err != nil {
		t.Errorf("the daemon's exit on SIGTERM: %v\n%s", err, dlog.String())
	}
	// Made by the loa user (its mode follows the umask: systemd's is 0027).
	if st, err := os.Stat(filepath.Join(c.dir, "var/lib/loa/loa.db")); err != nil || st.Sys().(*syscall.Stat_t).Uid != uint32(ids[0]) {
		t.Errorf("the database is not the loa user's: %v", err)
	}
	configured := c.read("/etc/loa/agent.conf")

	// Upgrade: the configuration (a changed conffile) stays as it is,
	// without a question.
	up := filepath.Join(t.TempDir(), "r")
	must(t, "dpkg-deb", "-R", debs["loa-agent"], up)
	ctl, _ := os.ReadFile(filepath.Join(up, "DEBIAN", "control"))
	old := control(t, debs["loa-agent"])["Version"]
	os.WriteFile(filepath.Join(up, "DEBIAN", "control"), []byte(strings.Replace(string(ctl), "Version: "+old, "Version: "+old+".1", 1)), 0o644)
	must(t, "dpkg-deb", "--root-owner-group", "-Zgzip", "--build", up, filepath.Join(c.dir, "tmp", "loa-agent-up.deb"))
	out = c.must("", "dpkg", "-i", "/tmp/loa-agent-up.deb")
	if strings.Contains(out, "nothing is started yet") {
		t.Errorf("an upgrade talks like a new installation:\n%s", out)
	}
	if v := c.must("", "dpkg-query", "-W", "-f", "${Version}", "loa-agent"); v != old+".1" {
		t.Errorf("version after the upgrade: %q", v)
	}
	if c.read("/etc/loa/agent.conf") != configured || c.ids("loa") != ids {
		t.Error("the upgrade changed the configuration or the user")
	}
	c.stat("/etc/loa/agent.conf", 0o640, 0, ids[1])

	// The city packages beside it share /etc/loa.
	c.must("", "dpkg", "-i", "--ignore-depends=ffmpeg,espeak-ng", "/tmp/loa-city.deb", "/tmp/loactl.deb")
	cids := c.ids("loa-city")
	c.stat("/var/lib/loa-city", 0o750, cids[0], cids[1])
	c.stat("/etc/loa/city.conf", 0o640, 0, cids[1])
	if out := c.must("loa-city", "/usr/bin/loa-city", "key", "--config", "/etc/loa/city.conf"); !strings.Contains(out, "key id:") {
		t.Errorf("loa-city key as loa-city:\n%s", out)
	}
	c.stat("/var/lib/loa-city/city.key", 0o600, cids[0], cids[1])
	c.must("", "/usr/bin/loactl", "--help")

	// Remove: the program goes; configuration, data and user stay.
	c.must("", "dpkg", "-r", "loa-agent")
	for _, p := range []string{"/usr/bin/loa-agent", "/usr/lib/systemd/system/loa-agent.service"} {
		if c.exists(p) {
			t.Errorf("%s is still there after remove", p)
		}
	}
	if c.read("/etc/loa/agent.conf") != configured || !c.exists("/var/lib/loa/loa.db") || c.entry("/etc/passwd", "loa") == nil {
		t.Error("remove lost the configuration, the data or the user")
	}
	if st := c.must("", "dpkg-query", "-W", "-f", "${Status}", "loa-agent"); st != "deinstall ok config-files" {
		t.Errorf("status after remove: %q", st)
	}

	// Purge: everything of the agent goes, the city's files stay.
	c.must("", "dpkg", "--purge", "loa-agent")
	for _, p := range []string{"/etc/loa/agent.conf", "/var/lib/loa"} {
		if c.exists(p) {
			t.Errorf("%s is still there after purge", p)
		}
	}
	if c.entry("/etc/passwd", "loa") != nil || c.entry("/etc/group", "loa") != nil {
		t.Error("the loa user or group is still there after purge")
	}
	if g := c.entry("/etc/group", "audio"); strings.Contains(","+g[3]+",", ",loa,") {
		t.Errorf("audio group after purge: %v", g)
	}
	if !c.exists("/etc/loa/city.conf") {
		t.Error("purging the agent removed the city's configuration")
	}
	c.must("", "dpkg", "--purge", "loa-city", "loactl")
	for _, p := range []string{"/etc/loa", "/var/lib/loa-city", "/usr/bin/loa-city", "/usr/bin/loactl"} {
		if c.exists(p) {
			t.Errorf("%s is still there after purging loa-city", p)
		}
	}
	if c.entry("/etc/passwd", "loa-city") != nil {
		t.Error("the loa-city user is still there after purge")
	}
}

func quoteAll(args []string) []string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return q
}

func waitHTTP(t testing.TB, url string, limit time.Duration) {
	t.Helper()
	if !testwait.Poll(limit, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}) {
		t.Fatalf("%s: no 200 within %s", url, limit)
	}
}

// qemuTarget is how to run an ARM build here.
type qemuTarget struct {
	arch, qemu, triplet string
}

var qemuTargets = []qemuTarget{{"arm64", "qemu-aarch64", "aarch64-linux-gnu"}, {"armhf", "qemu-arm", "arm-linux-gnueabihf"}}

// command returns the command running the ARM binary under qemu-user, or
// skips when qemu or the target's libraries are missing.
func (q qemuTarget) command(t testing.TB, exe string, args ...string) *exec.Cmd {
	qemu, err := exec.LookPath(q.qemu)
	if err != nil {
		t.Skipf("%s not installed (apt-get install qemu-user; scripts/build-deps.sh)", q.qemu)
	}
	if _, err := os.Stat("/usr/lib/" + q.triplet + "/libasound.so.2"); err != nil {
		t.Skipf("libasound2:%s not installed (scripts/build-deps.sh installs it)", q.arch)
	}
	// The loader and libc: the multiarch ones in / (installed with
	// libasound2:ARCH), else the cross toolchain's.
	sysroot := "/"
	if _, err := os.Stat("/usr/lib/" + q.triplet + "/libc.so.6"); err != nil {
		sysroot = "/usr/" + q.triplet
	}
	return exec.Command(qemu, append([]string{"-L", sysroot, exe}, args...)...)
}

// The ARM builds render the same program as amd64: armhf to the byte;
// arm64 within 1 LSB of 16-bit on at most 1 sample in 10,000 — Go fuses
// x*y+z into one rounding on arm64 (FMADD), not on amd64 or arm.
func TestQemuRenderMatchesAmd64(t *testing.T) {
	d := dist(t)
	dir := t.TempDir()
	if runtime.GOARCH != "amd64" {
		t.Skip("the reference render is amd64's")
	}
	args := renderFixture(t, dir)
	ref := exec.Command(filepath.Join(d, "amd64", "loa-agent"), append(args, "amd64.wav")...)
	ref.Dir = dir
	if out, err := ref.CombinedOutput(); err != nil {
		t.Fatalf("amd64 render: %v\n%s", err, out)
	}
	want := wavSamples(t, filepath.Join(dir, "amd64.wav"))
	for _, q := range qemuTargets {
		t.Run(q.arch, func(t *testing.T) {
			exe := filepath.Join(d, q.arch, "loa-agent")
			out := q.arch + ".wav"
			cmd := q.command(t, exe, append(args, out)...)
			cmd.Dir = dir
			start := time.Now()
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s render under %s: %v\n%s", q.arch, q.qemu, err, b)
			}
			t.Logf("%s: 30 s rendered in %s under %s (emulated)", q.arch, time.Since(start).Round(time.Millisecond), q.qemu)
			got := wavSamples(t, filepath.Join(dir, out))
			if len(got) != len(want) {
				t.Fatalf("%d samples, amd64 %d", len(got), len(want))
			}
			differ, maxDiff, first := 0, 0, -1
			for i := range got {
				if dd := int(got[i]) - int(want[i]); dd != 0 {
					differ++
					maxDiff = max(maxDiff, dd, -dd)
					if first < 0 {
						first = i
					}
				}
			}
			t.Logf("%s vs amd64: %d of %d samples differ, by at most %d LSB (first at %.3f s)", q.arch, differ, len(got), maxDiff, float64(first)/2/44100)
			switch q.arch {
			case "armhf":
				if differ != 0 {
					t.Errorf("armhf differs from amd64 (no fused multiply-add there: it should not)")
				}
			case "arm64":
				if maxDiff > 1 || differ*10000 > len(got) {
					t.Errorf("arm64 is further from amd64 than fused multiply-adds explain")
				}
			}
		})
	}
}

// BenchmarkAgentColdStart: `loa-agent run` on an empty data folder until
// /healthz answers 200 (database created, output opened, schedule loaded).
// The ARM figures are under qemu-user: emulated, not a Raspberry Pi's.
func BenchmarkAgentColdStart(b *testing.B) {
	type variant struct {
		name string
		cmd  func(b *testing.B, args ...string) *exec.Cmd
	}
	variants := []variant{{"amd64", func(b *testing.B, args ...string) *exec.Cmd {
		return exec.Command(filepath.Join(bin, "loa-agent"), args...)
	}}}
	for _, q := range qemuTargets {
		variants = append(variants, variant{q.arch + "-qemu-emulated", func(b *testing.B, args ...string) *exec.Cmd {
			return q.command(b, filepath.Join(dist(b), q.arch, "loa-agent"), args...)
		}})
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				addr := freePortB(b)
				conf := filepath.Join(dir, "agent.conf")
				os.WriteFile(conf, []byte(fmt.Sprintf("data: %s/data\nclock: trust\naudio:\n  output: null\nhttp:\n  listen: %s\n", dir, addr)), 0o600)
				cmd := v.cmd(b, "run", "--config", conf)
				b.StartTimer()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				for deadline := time.Now().Add(time.Minute); ; {
					if time.Now().After(deadline) {
						cmd.Process.Kill()
						b.Fatalf("no 200 from /healthz within a minute")
					}
					resp, err := http.Get("http://" + addr + "/healthz")
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == 200 {
							break
						}
					}
					// Polls every 2 ms: the resolution of what the
					// benchmark measures (start to healthy), not a wait.
					time.Sleep(2 * time.Millisecond)
				}
				b.StopTimer()
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			}
		})
	}
}

func freePortB(b *testing.B) string {
	addr, err := newPort()
	if err != nil {
		b.Fatal(err)
	}
	return addr
}
