package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"loa/city/api"
	"loa/internal/backoff"
	"loa/signing"
)

// The ward's own key signs its receipts and as-run lines, so that the city
// believes them only from this station: the NATS key (city.nats_key) is
// made by the city and travels to the station, and whoever copies the
// configuration could publish in the ward's name with it. This key is made
// here, its private half never leaves the data folder, and the city learns
// its public half from the station itself, over HTTP with the ward's token
// (PUT /api/v1/ward/receipt-key). The city keeps the first key it is
// given; a new join code (re-provisioning) makes it forget it.

// ReceiptKeyFile is the ward's signing key, in its data folder.
const ReceiptKeyFile = "ward-receipt.key"

// loadReceiptKey reads the ward's signing key, making it the first time.
func loadReceiptKey(data string) (ed25519.PrivateKey, error) {
	path := filepath.Join(data, ReceiptKeyFile)
	k, err := signing.LoadKey(path)
	if err == nil {
		return k, nil
	}
	k, gerr := signing.GenerateKey(path)
	if errors.Is(gerr, signing.ErrKeyExists) {
		return nil, err // there, but unreadable: say why
	}
	return k, gerr
}

// registerReceiptKey tells the city the public half of the ward's key,
// retrying until the city answers. A city that already has another key
// for the ward refuses it (409): that is logged, and the receipts it will
// refuse are this station's problem to solve (a new join code).
func (d *Daemon) registerReceiptKey(ctx context.Context, key ed25519.PrivateKey) {
	pub := key.Public().(ed25519.PublicKey)
	body, _ := json.Marshal(api.ReceiptKey{PublicKey: signing.PublicKeyText(pub)})
	url := strings.TrimRight(d.Cfg.City.URL, "/") + "/api/v1/ward/receipt-key"
	client := &http.Client{Timeout: 30 * time.Second}
	for n := 1; ; n++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
		if err != nil {
			d.Log.Error("receipt key not registered", "err", err)
			return
		}
		req.Header.Set("Authorization", "Bearer "+d.Cfg.City.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err == nil {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				d.Log.Info("receipt key registered at the city", "key_id", signing.KeyID(pub))
				return
			case http.StatusNotFound:
				d.Log.Warn("the city takes no receipt keys (older than this agent): receipts go signed, read unverified", "city", apiError(msg))
				return
			case http.StatusConflict:
				d.Log.Error("khoá ký báo nhận bị từ chối / the city has another receipt key for this ward: "+
					"its receipts from here will be refused; ask the city for a new join code", "key_id", signing.KeyID(pub), "city", apiError(msg))
				return
			}
			err = fmt.Errorf("HTTP %s: %s", resp.Status, apiError(msg))
		}
		if ctx.Err() != nil {
			return
		}
		wait := backoff.Wait(n, time.Second, 5*time.Minute)
		d.Log.Warn("receipt key not registered yet; retrying", "err", err, "in", wait.Round(time.Second))
		if !backoff.Sleep(ctx, wait) {
			return
		}
	}
}
