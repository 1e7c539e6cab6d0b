package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loa/cap"
)

// capCityConfig trusts one unsigned sender (the province's warning
// system in this test) and maps its commune code to a group.
const capCityConfig = `cap:
  trusted_senders: [canhbao@kttv.gov.vn, canh-bao@loa-city]
  trusted_certs: [%s]
  accept_unsigned: true
  areas:
    - geocode: "VN-XA=26734"
      to: group:xa-a
  base_url: http://city.example
`

type capAnswer struct {
	Seq        int64  `json:"seq"`
	Identifier string `json:"identifier"`
	Outcome    string `json:"outcome"`
	Reason     string `json:"reason"`
	Alert      string `json:"alert"`
	Duplicate  bool   `json:"duplicate"`
}

// capPost POSTs a CAP message with token (none: "") and returns the
// status and the answer.
func (c *alertCity) capPost(token string, doc []byte, header ...string) (int, capAnswer, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.addr+"/api/v1/cap", bytes.NewReader(doc))
	req.Header.Set("Content-Type", "application/cap+xml")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var a capAnswer
	json.Unmarshal(body, &a)
	return resp.StatusCode, a, string(body)
}

func (c *alertCity) capGet(token, path string) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+c.addr+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// alertCount is how many alerts the city has sent.
func (c *alertCity) alertCount() int {
	c.t.Helper()
	code, body := c.capGet(c.token(), "/api/v1/alerts")
	var list []json.RawMessage
	if code != 200 || json.Unmarshal(body, &list) != nil {
		c.t.Fatalf("alerts: %d %s", code, body)
	}
	return len(list)
}

// capDoc writes a CAP 1.2 message from the province for commune 26734.
func capDoc(id, sent, msgType, refs, resource string) []byte {
	r := ""
	if refs != "" {
		r = "<references>" + refs + "</references>"
	}
	info := ""
	if msgType != "Cancel" {
		info = `<info><language>vi-VN</language><category>Met</category><event>Bão</event>
<urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
<expires>` + cap.FormatTime(time.Now().In(ict).Add(30*time.Minute)) + `</expires>
<headline>Bão số 5</headline><description>Bão số 5 đang vào đất liền.</description><instruction>Người dân ven sông sơ tán ngay.</instruction>
` + resource + `<area><areaDesc>Xã A</areaDesc><geocode><valueName>VN-XA</valueName><value>26734</value></geocode></area></info>`
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>` + id + `</identifier><sender>canhbao@kttv.gov.vn</sender><sent>` + sent +
		`</sent><status>Actual</status><msgType>` + msgType + `</msgType><scope>Public</scope>` + r + info + `</alert>`)
}

// A CAP Alert POSTed to the city plays at the ward (its own audio, the
// digest checked: a 1 kHz tone at the ward's output, an as-run row); a
// CAP Update replaces it (the first stops at the ward, the update's
// speech plays); a CAP Cancel stops the update. Malformed, wrong
// namespace, billion laughs, oversized, bad digest, tampered signature,
// no token and cross-site are refused with a reason and play nothing.
// The city's own feed then goes back through the ingest.
func TestCAPAlertUpdateCancelAtWard(t *testing.T) {
	t.Parallel()
	// The province signs its alerts (as IPAWS does) with a certificate
	// the city trusts; another certificate is not trusted.
	key, cert := capSigner(t, "canh-bao-tinh")
	other, otherCert := capSigner(t, "ke-mao-danh")
	c := newAlertCity(t, fmt.Sprintf(capCityConfig, certFingerprint(t, cert)), "phuong-1:xa-a", "phuong-2")
	alerter := c.token()

	// The province's recording: 40 s of 1 kHz, as MP3, inline with its SHA-1.
	wav := filepath.Join(c.dir, "ban-tin.wav")
	tone(t, wav, 1000, 40)
	mp3 := filepath.Join(c.dir, "ban-tin.mp3")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", wav, "-b:a", "64k", mp3).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	audio, _ := os.ReadFile(mp3)
	sum := sha1.Sum(audio)
	resource := `<resource><resourceDesc>Bản tin</resourceDesc><mimeType>audio/mpeg</mimeType><size>` + fmt.Sprint(len(audio)) +
		`</size><derefUri>` + base64.StdEncoding.EncodeToString(audio) + `</derefUri><digest>` + hex.EncodeToString(sum[:]) + `</digest></resource>`

	out := filepath.Join(c.dir, "phuong-1.wav")
	ag := c.startWard("phuong-1", "wav:"+out)
	ag.waitLinked()

	sent := cap.FormatTime(time.Now().In(ict))
	first, err := cap.SignEnveloped(capDoc("KTTV-1", sent, "Alert", "", resource), key, cert)
	if err != nil {
		t.Fatal(err)
	}
	code, a1, body := c.capPost(alerter, first)
	if code != http.StatusCreated || a1.Outcome != "played" || a1.Alert == "" {
		t.Fatalf("CAP alert: %d %s", code, body)
	}
	c.waitWardState(a1.Alert, "phuong-1", "started", 60*time.Second)
	waitOnAir(t, 6*time.Second, ag) // the chime, then some of the recording
	if st := c.alertStatus(a1.Alert); st.Priority != "emergency" || st.Targets != "group:xa-a" {
		t.Fatalf("alert %s: priority %s to %s", a1.Alert, st.Priority, st.Targets)
	}

	// The attacks, while it plays.
	before := c.alertCount()
	refusals := 0
	ipaws, _ := os.ReadFile(filepath.Join("..", "cap", "testdata", "05_ipaws_cancel_signed.xml"))
	ipawsTampered := bytes.Replace(ipaws, []byte("AlertSense"), []byte("AlertSensf"), 1)
	tampered := bytes.Replace(bytes.Replace(first, []byte("KTTV-1"), []byte("KTTV-9"), 1), []byte("Bão số 5"), []byte("Bão số 6"), 1)
	byOther, err := cap.SignEnveloped(capDoc("KTTV-X7", sent, "Alert", "", ""), other, otherCert)
	if err != nil {
		t.Fatal(err)
	}
	badDigest := capDoc("KTTV-X1", sent, "Alert", "", strings.Replace(resource, hex.EncodeToString(sum[:]), strings.Repeat("0", 40), 1))
	laughs := []byte(`<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>` +
		`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&c;</identifier></alert>`)
	for _, atk := range []struct {
		name   string
		token  string
		doc    []byte
		header []string
		code   int
		reason string
	}{
		{"malformed", alerter, []byte(`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</alert>`), nil, 422, "malformed XML"},
		{"wrong namespace", alerter, bytes.Replace(capDoc("KTTV-X2", sent, "Alert", "", ""), []byte("cap:1.2"), []byte("cap:1.1"), 1), nil, 422, "namespace"},
		{"billion laughs", alerter, laughs, nil, 422, "entity declaration"},
		{"oversized", alerter, append(capDoc("KTTV-X3", sent, "Alert", "", ""), bytes.Repeat([]byte(" "), cap.MaxMessage)...), nil, 413, ""},
		{"bad digest", alerter, badDigest, nil, 422, "does not match its digest"},
		{"tampered signed message", alerter, tampered, nil, 422, "does not verify"},
		{"tampered IPAWS message, its certificate expired", alerter, ipawsTampered, nil, 422, "does not verify"},
		{"signed by an untrusted certificate", alerter, byOther, nil, 422, "is not trusted"},
		{"no token", "", capDoc("KTTV-X4", sent, "Alert", "", ""), nil, 401, ""},
		{"cross-site, no credential", "", capDoc("KTTV-X5", sent, "Alert", "", ""), []string{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"}, 401, ""},
		{"operator may not", operatorToken(t, c), capDoc("KTTV-X6", sent, "Alert", "", ""), nil, 403, ""},
	} {
		code, ans, body := c.capPost(atk.token, atk.doc, atk.header...)
		if code != atk.code {
			t.Errorf("%s: %d %s, want %d", atk.name, code, body, atk.code)
			continue
		}
		if atk.reason != "" {
			refusals++
		}
		if atk.reason != "" && (ans.Outcome != "refused" || !strings.Contains(ans.Reason, atk.reason) || ans.Seq == 0) {
			t.Errorf("%s: %s", atk.name, body)
		}
		t.Logf("%s: %d %s", atk.name, code, strings.Join(strings.Fields(ans.Reason), " "))
	}
	if n := c.alertCount(); n != before {
		t.Fatalf("an attack sent an alert: %d alerts, were %d", n, before)
	}
	if st := c.wardState(a1.Alert, "phuong-1"); st.State != "started" {
		t.Fatalf("the alert at the ward after the attacks: %s", st.State)
	}

	// The Update: its text, spoken; the first alert stops.
	code, a2, body := c.capPost(alerter, capDoc("KTTV-2", cap.FormatTime(time.Now().In(ict)), "Update", "canhbao@kttv.gov.vn,KTTV-1,"+sent, ""))
	if code != http.StatusCreated || a2.Outcome != "updated" || a2.Alert == "" {
		t.Fatalf("CAP update: %d %s", code, body)
	}
	c.waitWardState(a1.Alert, "phuong-1", "cancelled", 30*time.Second)
	c.waitWardState(a2.Alert, "phuong-1", "started", 60*time.Second)
	if st := c.alertStatus(a2.Alert); len(st.References) != 1 || st.References[0] != a1.Alert || st.Content.Text == "" {
		t.Fatalf("update %s: references %v, text %q", a2.Alert, st.References, st.Content.Text)
	}

	// The Cancel stops the update.
	code, a3, body := c.capPost(alerter, capDoc("KTTV-3", cap.FormatTime(time.Now().In(ict)), "Cancel", "canhbao@kttv.gov.vn,KTTV-2,"+sent, ""))
	if code != http.StatusCreated || a3.Outcome != "cancelled" || a3.Alert != a2.Alert {
		t.Fatalf("CAP cancel: %d %s", code, body)
	}
	c.waitWardState(a2.Alert, "phuong-1", "cancelled", 30*time.Second)
	// The same message again: a duplicate, nothing done.
	if code, ans, body := c.capPost(alerter, capDoc("KTTV-3", cap.FormatTime(time.Now().In(ict)), "Cancel", "canhbao@kttv.gov.vn,KTTV-2,"+sent, "")); code != 200 || !ans.Duplicate {
		t.Fatalf("duplicate: %d %s", code, body)
	}
	ag.stop()

	// At the ward's output: the CAP's own audio (1 kHz).
	x, rate := readWAVFile(t, out)
	ws := analyze(x, rate, 1000)
	on := 0
	for _, w := range ws {
		if w.tone > 0.3 {
			on++
		}
	}
	t.Logf("1 kHz in %d of %d windows of the ward's output", on, len(ws))
	if on < 30 {
		t.Fatalf("the CAP's audio is not at the ward's output (%d windows of 1 kHz)", on)
	}
	rows := alertRows(t, ag.data)
	seen := map[string]string{}
	for _, r := range rows {
		seen[r.Program] = r.Result
	}
	t.Logf("as-run: %v", seen)
	if seen[a1.Alert] == "" || seen[a2.Alert] == "" {
		t.Fatalf("as-run rows %+v, want %s and %s", rows, a1.Alert, a2.Alert)
	}

	// Every message recorded with its outcome.
	code, list := c.capGet(alerter, "/api/v1/cap")
	var msgs []capAnswer
	json.Unmarshal(list, &msgs)
	outcomes := map[string]int{}
	for _, m := range msgs {
		outcomes[m.Outcome]++
	}
	if code != 200 || outcomes["played"] != 1 || outcomes["updated"] != 1 || outcomes["cancelled"] != 1 || outcomes["refused"] != refusals {
		t.Fatalf("GET /api/v1/cap: %d %v\n%s", code, outcomes, list)
	}
	ctlOut := run(t, c.ctl, "loactl", "cap")
	if !strings.Contains(ctlOut, "KTTV-2") || !strings.Contains(ctlOut, "updated") {
		t.Fatalf("loactl cap:\n%s", ctlOut)
	}

	// Out: the feed is not public by default; with a token it carries the
	// city's alerts as CAP, the update referencing the alert it replaced.
	if code, _ := c.capGet("", "/cap/alerts.atom"); code != 401 {
		t.Fatalf("feed without a token: %d", code)
	}
	code, feed := c.capGet(alerter, "/cap/alerts.atom")
	if code != 200 || !bytes.Contains(feed, []byte(a2.Alert)) || !bytes.Contains(feed, []byte(","+a1.Alert+",")) {
		t.Fatalf("feed: %d\n%s", code, feed)
	}
	items, err := cap.ReadFeed(feed)
	if err != nil || len(items) != 3 {
		t.Fatalf("feed items: %v %d", err, len(items))
	}
	code, doc := c.capGet(alerter, "/cap/alerts/"+a1.Alert+".xml")
	if code != 200 {
		t.Fatalf("CAP of %s: %d %s", a1.Alert, code, doc)
	}
	// Round trip: the city's first alert, read back from its own feed,
	// goes through the ingest and is sent again to the same group.
	var own []byte
	for _, it := range items {
		if bytes.Contains(it.CAP, []byte("<identifier>"+a1.Alert+"<")) {
			own = it.CAP
		}
	}
	code, rt, body := c.capPost(alerter, own)
	if code != http.StatusCreated || rt.Outcome != "played" {
		t.Fatalf("round trip: %d %s", code, body)
	}
	if st := c.alertStatus(rt.Alert); st.Targets != "group:xa-a" || st.Priority != "emergency" {
		t.Fatalf("round trip alert: %s %s", st.Targets, st.Priority)
	}
}

// operatorToken adds an operator (who may not send alerts).
func operatorToken(t *testing.T, c *alertCity) string {
	return lastField(run(t, nil, "loa-city", "user", "add", "van-hanh", "--role", "operator", "--config", c.config))
}

// capSigner is an RSA key and a self-signed certificate valid now.
func capSigner(t *testing.T, name string) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func certFingerprint(t *testing.T, der []byte) string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cap.Fingerprint(c)
}
