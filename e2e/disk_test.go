package e2e

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"loa/city/api"
)

// smallFilesystem mounts a file system of sizeMB at dir: a tmpfs, or, where
// tmpfs cannot be mounted, an ext4 image on a loop device. It says which;
// the test is skipped (saying why) only if neither can be mounted (not
// root, or a container without the capability). CI runs as root.
func smallFilesystem(t *testing.T, dir string, sizeMB int) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	umount := func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v %s; detaching lazily", dir, err, out)
			exec.Command("umount", "-l", dir).Run()
		}
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", sizeMB), "tmpfs", dir).CombinedOutput()
	if err == nil {
		t.Cleanup(umount)
		return "tmpfs"
	}
	tmpfsErr := strings.TrimSpace(string(out))
	img := filepath.Join(filepath.Dir(dir), "data.ext4")
	if out, err := exec.Command("truncate", "-s", fmt.Sprintf("%dM", sizeMB), img).CombinedOutput(); err != nil {
		t.Fatalf("truncate: %v %s", err, out)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-m", "0", img).CombinedOutput(); err != nil {
		t.Skipf("no small file system: tmpfs mount failed (%s); mkfs.ext4 failed (%v %s)", tmpfsErr, err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, dir).CombinedOutput(); err != nil {
		t.Skipf("no small file system: tmpfs mount failed (%s); loop mount of ext4 failed (%v %s)", tmpfsErr, err, out)
	}
	t.Cleanup(umount)
	return "ext4 on a loop device"
}

// fill writes a file of zeros into dir until the file system is full.
func fill(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(zeros{}, 1<<40))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %d bytes, %v (want ENOSPC)", path, n, err)
	}
	return n
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type diskStatusJSON struct {
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems"`
	Disk     *struct {
		Free    int64 `json:"free_bytes"`
		Reserve int64 `json:"reserve_bytes"`
		Low     bool  `json:"low"`
		Unsaved int   `json:"unsaved"`
	} `json:"disk"`
	Sync *struct {
		LastError string `json:"last_error"`
		Version   int64  `json:"version"`
	} `json:"sync"`
	Alerts *struct {
		Queued  int `json:"queued_reports"`
		Unsaved int `json:"unsaved"`
	} `json:"alerts"`
}

func (a *agentProc) diskStatus() diskStatusJSON {
	a.t.Helper()
	_, body := a.get("/api/v1/status")
	var s diskStatusJSON
	json.Unmarshal([]byte(body), &s)
	return s
}

// boardEntry is the city board's view of ward (loactl wards --json).
func boardEntry(t *testing.T, ctl []string, ward string) (string, []string) {
	t.Helper()
	var ws []wardHealth
	out := run(t, ctl, "loactl", "wards", "--json")
	if err := json.Unmarshal([]byte(out), &ws); err != nil {
		t.Fatalf("loactl wards --json: %v\n%s", err, out)
	}
	for _, w := range ws {
		if w.ID == ward && w.Health != nil {
			var ps []string
			for _, p := range w.Health.Problems {
				ps = append(ps, p.State+": "+p.Detail)
			}
			return w.Health.State, ps
		}
	}
	return "", nil
}

// toneWindows counts the 100 ms windows of a WAV where freq dominates.
func toneWindows(t *testing.T, path string, freq float64) int {
	x, rate := readWAVFile(t, path)
	n, count := rate/10, 0
	for i := 0; i+n <= len(x); i += n {
		seg := x[i : i+n]
		var ms float64
		for _, v := range seg {
			ms += v * v
		}
		ms /= float64(n)
		if ms > 1e-4 && goertzel(seg, freq, rate)/ms > 0.3 {
			count++
		}
	}
	return count
}

// A ward whose data folder is full still plays an emergency, and loses
// none of its state: the replay record, the "finished" receipt and the
// as-run row are stored and reach the city; /healthz and the city board
// say the disk is full; media sync stops instead of fetching (no download
// is repeated). Freed, the disk recovers: reserve made again, healthy, and
// the waiting media downloaded once.
//
// With the reserve (the default), the database gets the reserve's space
// and stores everything at once. Without one (storage.reserve: 0), the
// records are held in memory, the receipts sent from there, and all are
// stored once space is freed.
func TestAlertOnAFullDisk(t *testing.T) {
	t.Parallel()
	t.Run("reserve", func(t *testing.T) { t.Parallel(); alertOnAFullDisk(t, 4e6) })
	t.Run("no reserve", func(t *testing.T) { t.Parallel(); alertOnAFullDisk(t, 0) })
}

func alertOnAFullDisk(t *testing.T, reserve int64) {
	// The ward's disk is 40 MB here: the city's "nearly full" line is put
	// at the ward's own min_free (8 MB), not the default 64 MB of an SD card.
	c := newAlertCity(t, "fleet:\n  disk_min_free_mb: 8\n", "phuong-1")
	c.agentExtra = fmt.Sprintf("fleet:\n  heartbeat: 1s\nstorage:\n  reserve: %d\n  min_free: 8MB\n", reserve)
	data := filepath.Join(c.dir, "phuong-1", "data")
	t.Logf("the ward's data folder is on a 40 MB %s", smallFilesystem(t, data, 40))

	tone(t, filepath.Join(c.dir, "coi.wav"), 700, 2)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))
	later := time.Now().In(ict).Add(3 * time.Hour)
	day := later.Format("2006-01-02")
	program := func(name, items string) {
		p := filepath.Join(c.dir, name+".yaml")
		os.WriteFile(p, []byte(fmt.Sprintf("programs:\n  - id: %s\n    date: %s\n    at: \"%s\"\n    items: [%s]\n",
			name, day, later.Format("15:04"), items)), 0o644)
		run(t, c.adminCtl, "loactl", "program", "load", p, "--ward", "phuong-1")
	}
	program("coi", "coi.wav")
	wav := filepath.Join(c.dir, "phuong-1.wav")
	a := c.startWard("phuong-1", "wav:"+wav)
	a.waitLinked()
	waitUntil(t, "the program and its media synced", 30*time.Second, func() bool { return hasProgram(agentShow(t, a.data, day), "coi") })
	waitUntil(t, "the reserve held and healthy", 10*time.Second, func() bool {
		s := a.diskStatus()
		return s.Disk != nil && s.Disk.Reserve == reserve && !s.Disk.Low && s.Healthy
	})
	downloaded := func() int64 {
		v, _ := strconv.ParseFloat(a.metric("loa_sync_downloaded_bytes_total"), 64)
		return int64(v)
	}
	before := downloaded()
	if before <= 0 {
		t.Fatalf("the program's media synced, yet %d bytes downloaded", before)
	}

	// The card fills up.
	filled := fill(t, filepath.Join(data, "filler.bin"))
	t.Logf("filler: %.1f MB", float64(filled)/1e6)
	waitUntil(t, "healthz to report the full disk", 10*time.Second, func() bool {
		code, body := a.get("/healthz")
		return code == 503 && strings.Contains(body, "Sắp đầy đĩa / disk almost full")
	})
	waitUntil(t, "the city board to show the disk", 20*time.Second, func() bool {
		state, ps := boardEntry(t, c.adminCtl, "phuong-1")
		return state == "disk!" && len(ps) > 0 && strings.Contains(ps[0], "disk almost full")
	})

	// New media for the ward while the disk is full: not downloaded.
	tone(t, filepath.Join(c.dir, "ban-tin.wav"), 440, 20)
	var up []api.Media
	if err := json.Unmarshal([]byte(run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "ban-tin.wav"), "--json")), &up); err != nil || len(up) != 1 {
		t.Fatalf("upload --json: %v %v", err, up)
	}
	program("ban-tin", "ban-tin.wav")
	waitUntil(t, "the sync to wait for space", 20*time.Second, func() bool {
		s := a.diskStatus()
		return s.Sync != nil && strings.Contains(s.Sync.LastError, "disk almost full")
	})

	// The emergency.
	id := c.alertSend("--media", "coi.wav", "--to", "phuong-1", "--priority", "emergency", "--expires", "5m", "--chime=false")
	c.waitWardState(id, "phuong-1", "finished", 30*time.Second)
	waitUntil(t, "the alert's tone at the output", 10*time.Second, func() bool { return toneWindows(t, wav, 700) >= 15 })
	stored := func() {
		t.Helper()
		// On the ward's disk, read while the agent runs: the replay
		// record and the as-run row.
		db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "loa.db")+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var state string
		if err := db.QueryRow(`SELECT state FROM alerts_seen WHERE id = ?`, id).Scan(&state); err != nil || state != "finished" {
			t.Fatalf("replay record on the ward: %q %v", state, err)
		}
		var rows int
		if err := db.QueryRow(`SELECT count(*) FROM asrun WHERE kind = 'alert' AND program = ? AND result = 'completed'`, id).Scan(&rows); err != nil || rows != 1 {
			t.Fatalf("as-run rows of the alert on the ward: %d %v", rows, err)
		}
	}
	if reserve > 0 {
		waitUntil(t, "nothing held in memory", 15*time.Second, func() bool {
			s := a.diskStatus()
			return s.Disk != nil && s.Disk.Unsaved == 0 && s.Alerts != nil && s.Alerts.Queued == 0
		})
		stored()
	}
	s := a.diskStatus()
	t.Logf("full disk: free %d bytes, reserve %d bytes, %d writes held in memory", s.Disk.Free, s.Disk.Reserve, s.Disk.Unsaved)
	if !s.Disk.Low || s.Healthy {
		t.Fatalf("status on a full disk: %+v %v", s.Disk, s.Problems)
	}
	if reserve > 0 && s.Disk.Reserve != 0 {
		t.Errorf("the reserve was not released to the database: %+v", s.Disk)
	}
	if reserve == 0 && (s.Disk.Unsaved == 0 || !strings.Contains(strings.Join(s.Problems, "\n"), "not stored yet")) {
		t.Errorf("no reserve, full disk: nothing held in memory? %+v %v", s.Disk, s.Problems)
	}
	if got := downloaded(); got != before {
		t.Fatalf("media downloaded on a full disk: %d bytes", got-before)
	}

	// Space is freed: the station recovers.
	if err := os.Remove(filepath.Join(data, "filler.bin")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "healthz back to 200, the reserve made again, nothing held", 15*time.Second, func() bool {
		code, _ := a.get("/healthz")
		s := a.diskStatus()
		return code == 200 && s.Disk != nil && s.Disk.Reserve == reserve && s.Disk.Unsaved == 0
	})
	stored()
	// At the city: the as-run row.
	waitUntil(t, "the alert's as-run row at the city", 20*time.Second, func() bool {
		var d api.AsRunDay
		out := run(t, c.adminCtl, "loactl", "asrun", "--ward", "phuong-1", "--date", time.Now().In(ict).Format("2006-01-02"), "--json")
		if json.Unmarshal([]byte(out), &d) != nil {
			return false
		}
		for _, e := range d.Entries {
			if e.Kind == "alert" && e.Program == id && e.Result == "completed" {
				return true
			}
		}
		return false
	})
	waitUntil(t, "the waiting media downloaded and the program applied", 30*time.Second, func() bool {
		return hasProgram(agentShow(t, a.data, day), "ban-tin")
	})
	if got := downloaded() - before; got != up[0].Size {
		t.Fatalf("downloaded %d bytes after the space came back; the new media is %d bytes (once)", got, up[0].Size)
	}
	waitUntil(t, "the city board without the disk", 20*time.Second, func() bool {
		state, _ := boardEntry(t, c.adminCtl, "phuong-1")
		return state == "idle"
	})
}
