package agent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// doctorCheck is one thing a technician would check: whether it is right,
// what was found, and what to do when it is not.
type doctorCheck struct {
	OK     bool   `json:"ok"`
	What   string `json:"what"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// doctorChecks runs the checks of `loa-agent doctor`, for the command and
// for a diagnostics bundle alike. running is the daemon's status when it
// runs (it then holds the device, and is asked instead); tone plays the
// test tone (nil: none played); open opens the station's database (and
// says how to close it again).
func doctorChecks(ctx context.Context, cfg Config, now time.Time, running *StatusReport, tone func() error,
	open func() (*Station, func(), error)) []doctorCheck {
	var out []doctorCheck
	report := func(ok bool, what, detail, fix string) {
		out = append(out, doctorCheck{OK: ok, What: what, Detail: detail, Fix: fix})
	}

	switch {
	case running != nil:
		report(running.Device.OK, "thiết bị âm thanh / audio device", "in use by the running daemon: "+orDefault(running.Device.Error, running.Device.Output+" OK"),
			"check the sound card and /etc/asound.conf; `journalctl -u loa-agent`")
	case tone == nil || cfg.Audio.Output == "null" || strings.HasPrefix(string(cfg.Audio.Output), "wav:"):
		report(true, "thiết bị âm thanh / audio device", "output "+string(cfg.Audio.Output)+" (no tone played)", "")
	default:
		err := tone()
		report(err == nil, "thiết bị âm thanh / audio device", orDefault(errString(err), "played a 1 s test tone at 1 kHz"),
			"check the card with `aplay -l`, choose it with audio.card or /etc/asound.conf, check the `audio` group")
	}

	cs := clockCheck(cfg.Clock)()
	if !cs.Trusted && cfg.City.URL != "" {
		// Without NTP the daemon runs on the city's signed time: check it.
		ok, detail := doctorCityTime(ctx, cfg)
		report(ok, "đồng hồ / clock", cs.Detail+"; "+detail,
			"the city's time must be signed with city.public_key: check the key, the city's address, and what is between them (a proxy rewriting answers?)")
	} else {
		report(cs.Trusted, "đồng hồ / clock", orDefault(cs.Detail, "trusted ("+cs.Source+")"),
			"enable time sync: `timedatectl set-ntp true` (systemd-timesyncd); on a machine with a real-time clock set `clock: trust`")
	}

	var sfs syscall.Statfs_t
	if err := syscall.Statfs(cfg.Data, &sfs); err != nil {
		report(false, "ổ đĩa / disk", err.Error(), "create "+cfg.Data+" (the package does) or set data:")
	} else {
		free := int64(sfs.Bavail) * int64(sfs.Bsize)
		report(free > 500<<20, "ổ đĩa / disk", fmt.Sprintf("%s free in %s", humanBytes(free), cfg.Data),
			"free space: old media are removed after their grace period; a larger SD card helps")
	}

	dbPath := filepath.Join(cfg.Data, "loa.db")
	if _, err := os.Stat(dbPath); err != nil {
		report(false, "cơ sở dữ liệu / database", "no database at "+dbPath, "run `loa-agent program load FILE` or start the daemon once")
	} else if st, done, err := open(); err != nil {
		report(false, "cơ sở dữ liệu / database", err.Error(), "the database can be rebuilt: stop the agent, move "+dbPath+" aside, load the programs again")
	} else {
		err := st.DB.IntegrityCheck(ctx)
		report(err == nil, "cơ sở dữ liệu / database", orDefault(errString(err), "integrity check ok"),
			"stop the agent, move "+dbPath+" aside, load the programs again (the city resends its own)")
		if url := ffmpegRelay(ctx, st, now); url != "" {
			_, err := exec.LookPath("ffmpeg")
			report(err == nil, "tiếp sóng HLS/AAC / HLS and AAC relays",
				orDefault(errString(err), "ffmpeg found, to decode "+url),
				"`apt-get install ffmpeg`: relays of HLS (.m3u8), AAC and Ogg streams are decoded by ffmpeg")
		}
		done()
	}
	if running != nil {
		report(running.Healthy, "dịch vụ / daemon", fmt.Sprintf("running, up %s", time.Duration(running.Uptime)*time.Second), strings.Join(running.Problems, "; "))
	} else {
		report(false, "dịch vụ / daemon", "not running", "`systemctl start loa-agent`; see `journalctl -u loa-agent`")
	}
	return out
}
