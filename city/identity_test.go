package city_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"loa/agent"
	"loa/city/api"
	"loa/city/citytest"
	"loa/fleet"
	"loa/signing"
	"loa/sqlite"
)

func putReceiptKey(t *testing.T, c *citytest.City, token string, pub ed25519.PublicKey) (int, string) {
	t.Helper()
	body, _ := json.Marshal(api.ReceiptKey{PublicKey: signing.PublicKeyText(pub)})
	code, b, _ := c.Do(t, "PUT", "/api/v1/ward/receipt-key", token, strings.NewReader(string(body)))
	return code, string(b)
}

func identityProblem(c *citytest.City, ward, want string) bool {
	v, ok := c.Board().Refresh(ward, time.Now())
	if !ok || v.Health.State != fleet.Identity {
		return false
	}
	for _, p := range v.Health.Problems {
		if strings.Contains(p.Detail, want) {
			return true
		}
	}
	return false
}

// A ward registers its receipt key with its token: the first key stays,
// the same key again is fine, another is refused (409) and shown on the
// board; a bad key is a 400 naming the field, no token a 401, a user's
// token a 403.
func TestReceiptKeyRegistration(t *testing.T) {
	c := citytest.New(t)
	tok := c.AddWard(t, "phuong-1")
	_, k1, _ := ed25519.GenerateKey(rand.Reader)
	_, k2, _ := ed25519.GenerateKey(rand.Reader)
	pub1, pub2 := k1.Public().(ed25519.PublicKey), k2.Public().(ed25519.PublicKey)

	if code, body := putReceiptKey(t, c, "", pub1); code != 401 {
		t.Fatalf("no token: %d %s", code, body)
	}
	if code, body := putReceiptKey(t, c, c.Admin, pub1); code != 403 {
		t.Fatalf("a user's token: %d %s", code, body)
	}
	code, body, _ := c.Do(t, "PUT", "/api/v1/ward/receipt-key", tok, strings.NewReader(`{"public_key":"AAAA"}`))
	if code != 400 || !strings.Contains(string(body), "public_key") {
		t.Fatalf("a bad key: %d %s", code, body)
	}
	for range 2 {
		if code, body := putReceiptKey(t, c, tok, pub1); code != 200 || !strings.Contains(body, signing.KeyID(pub1)) {
			t.Fatalf("the ward's key: %d %s", code, body)
		}
	}
	if code, body := putReceiptKey(t, c, tok, pub2); code != 409 {
		t.Fatalf("a second key: %d %s", code, body)
	}
	if !identityProblem(c, "phuong-1", "a second receipt key") {
		t.Fatalf("the second key not on the board")
	}
	code, body, _ = c.Do(t, "GET", "/api/v1/wards/phuong-1", c.Admin, nil)
	if code != 200 || !strings.Contains(string(body), `"receipt_key_id": "`+signing.KeyID(pub1)+`"`) {
		t.Fatalf("the ward's page: %d %s", code, body)
	}
}

// As-run lines from a ward with a registered key are stored only when
// that key signed them: bare, stranger-signed and tampered ones are
// refused, counted and shown on the board.
func TestSignedAsRunOverNATS(t *testing.T) {
	c := citytest.New(t)
	tok := c.AddWard(t, "phuong-1")
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	if code, body := putReceiptKey(t, c, tok, key.Public().(ed25519.PublicKey)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, tr, served := startFleetBus(ctx, t, c)
	entry := func(id int64) (fleet.AsRunEntry, []byte) {
		e := fleet.AsRunEntry{Ward: "phuong-1", ID: id, Program: "ban-tin-sang", Kind: "program", Item: "a.mp3",
			Occurrence: 1_777_000_000_000, Planned: 1_777_000_000_000 + id*1000, Result: "completed"}
		b, _ := json.Marshal(e)
		return e, b
	}
	var msgs []agent.AsRunMessage
	add := func(id int64, data []byte) {
		e, _ := entry(id)
		msgs = append(msgs, agent.AsRunMessage{ID: e.MsgID(), Data: data})
	}
	_, b1 := entry(1)
	good, _ := signing.SignJSON(key, b1)
	add(1, good)
	_, b2 := entry(2)
	add(2, b2) // bare
	_, b3 := entry(3)
	strange, _ := signing.SignJSON(stranger, b3)
	add(3, strange)
	_, b4 := entry(4)
	var env signing.Envelope
	sig, _ := signing.SignJSON(key, b4)
	json.Unmarshal(sig, &env)
	env.Payload = []byte(strings.Replace(string(env.Payload), `"completed"`, `"interrupted"`, 1))
	tampered, _ := json.Marshal(env)
	add(4, tampered)
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	for i, err := range tr.PublishAsRun(actx, msgs) {
		if err != nil {
			t.Fatalf("as-run %d not acknowledged by the stream: %v", i, err)
		}
	}
	defer func() {
		if t.Failed() {
			t.Logf("city log:\n%s", c.Logs.String())
		}
	}()
	waitForFleet(t, "the forged lines refused", func() bool {
		logs := c.Logs.String()
		return strings.Count(logs, "forged message refused") == 3
	})
	var rows []sqlite.CityAsRun
	waitForFleet(t, "the signed line stored", func() bool {
		var err error
		rows, err = c.DB.Read().AsRun(ctx, "phuong-1", time.UnixMilli(0), time.UnixMilli(2_000_000_000_000))
		if err != nil {
			t.Fatal(err)
		}
		return len(rows) > 0
	})
	if len(rows) != 1 || rows[0].WardEntry != 1 {
		t.Fatalf("stored %+v", rows)
	}
	for _, reason := range []string{"reason=unsigned", "reason=unknown_key", "reason=bad_signature"} {
		if !strings.Contains(c.Logs.String(), reason) {
			t.Errorf("no refusal logged with %s", reason)
		}
	}
	if !identityProblem(c, "phuong-1", "forged asrun refused") {
		t.Fatal("the forged lines not on the board")
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
