package bench

// CAP ingest: from the start of POST /api/v1/cap to the ward's player
// starting the alert, with the wards of BenchmarkAlertFanout.
//
//	go test ./bench -run XXX -bench CAPFanout -benchtime 20x -timeout 30m

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"loa/cap"
)

// capBenchConfig trusts the bench's sender and sends its area to all.
const capBenchConfig = `cap:
  trusted_senders: [canhbao@kttv.gov.vn]
  accept_unsigned: true
  areas:
    - area_desc: Toàn tỉnh
      to: all
`

// BenchmarkCAPFanout: a CAP 1.2 Alert with a 2 s MP3 inline (its SHA-1
// checked, the file already in the library after the first: no
// transcode) to 100 wards. The city reads, checks, maps and sends it
// through the alerting service; latency is to each simulated ward's
// player start, as in BenchmarkAlertFanout.
func BenchmarkCAPFanout(b *testing.B) {
	dir := b.TempDir()
	mp3 := filepath.Join(dir, "coi.mp3")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=700:duration=2", "-b:a", "64k", mp3).CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v %s", err, out)
	}
	audio, err := os.ReadFile(mp3)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{100} {
		b.Run(fmt.Sprintf("wards=%d", n), func(b *testing.B) {
			benchFanoutWith(b, n, func(bc *alertBenchCity) { bc.capAudio = audio }, capBenchConfig)
		})
	}
}

// sendCAP posts a CAP Alert for the whole province and returns the alert
// it became and when the request began.
func (bc *alertBenchCity) sendCAP(b *testing.B) (string, time.Time) {
	bc.capN++
	sum := sha1.Sum(bc.capAudio)
	now := time.Now()
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>BENCH-` + fmt.Sprint(now.UnixNano()) + `-` + fmt.Sprint(bc.capN) +
		`</identifier><sender>canhbao@kttv.gov.vn</sender><sent>` + cap.FormatTime(now) + `</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
<info><language>vi-VN</language><category>Met</category><event>Bão</event><urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
<expires>` + cap.FormatTime(now.Add(10*time.Minute)) + `</expires><headline>Bão số 5</headline>
<resource><resourceDesc>Bản tin</resourceDesc><mimeType>audio/mpeg</mimeType><derefUri>` + base64.StdEncoding.EncodeToString(bc.capAudio) +
		`</derefUri><digest>` + hex.EncodeToString(sum[:]) + `</digest></resource><area><areaDesc>Toàn tỉnh</areaDesc></area></info></alert>`
	req, _ := http.NewRequest("POST", bc.url+"/api/v1/cap", bytes.NewReader([]byte(doc)))
	req.Header.Set("Authorization", "Bearer "+bc.alerter)
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		b.Fatalf("CAP: %d %s", resp.StatusCode, out)
	}
	var a struct {
		Alert string `json:"alert"`
	}
	json.Unmarshal(out, &a)
	return a.Alert, t0
}
