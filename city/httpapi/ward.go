package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"loa/city/accounts"
	"loa/city/api"
	"loa/city/library"
	"loa/fleet"
	"loa/internal/cmdkit"
	"loa/signing"
)

// What a ward asks the city for over HTTP: the city's key and time, its
// credentials for a join code, its manifest, media, and the registration
// of its receipt key.

func (s *Server) getKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.Key{PublicKey: signing.PublicKeyText(s.pub), KeyID: s.keyID})
}

// TimeResponse is GET /api/v1/time without a nonce: the city's clock,
// unsigned. Agents of this version never use it (an unsigned time can be
// rewritten on the way); it stays for older agents and for people.
type TimeResponse struct {
	UnixNano int64 `json:"unix_ns"`
}

// getTime is the reference clock of wards that have no NTP. With
// ?nonce=N (16–64 hex digits) the answer is a signing.Envelope over an
// api.SignedTime holding the nonce: a ward verifies it with the city key
// it was given at join, and an answer recorded earlier does not carry its
// fresh nonce.
func (s *Server) getTime(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	now := s.d.Now()
	if !r.URL.Query().Has("nonce") {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(TimeResponse{UnixNano: now.UnixNano()})
		return
	}
	nonce := r.URL.Query().Get("nonce")
	if !api.ValidTimeNonce(nonce) {
		writeError(w, http.StatusBadRequest, "nonce: %q: cần 16–64 chữ số hex / want 16 to 64 lower-case hex digits", nonce)
		return
	}
	payload, err := json.Marshal(api.SignedTime{Kind: api.TimeKind, UnixNano: now.UnixNano(), Nonce: nonce})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, signing.Sign(s.d.Key, payload))
}

// Failed join attempts are limited per client address, so that guessing
// codes is slow even before their 50 bits make it hopeless. Behind a
// reverse proxy every client shares the proxy's address: the limit then
// holds for all of them together, which only delays a technician.
const (
	joinFailWindow = 10 * time.Minute
	joinFailMax    = 20
)

type joinLimiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time
}

// allowed reports whether host may try again at now.
func (l *joinLimiter) allowed(host string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.fails[host][:0]
	for _, t := range l.fails[host] {
		if now.Sub(t) < joinFailWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) == 0 {
		delete(l.fails, host)
		return true
	}
	l.fails[host] = recent
	return len(recent) < joinFailMax
}

func (l *joinLimiter) failed(host string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil {
		l.fails = map[string][]time.Time{}
	}
	if len(l.fails) > 10000 { // a flood from many addresses: forget, rather than grow
		clear(l.fails)
	}
	l.fails[host] = append(l.fails[host], now)
}

// joinHandler serves POST /api/v1/join: a code in, the ward's signed
// credentials out. It needs no token: the code is the credential.
func (s *Server) joinHandler() http.Handler {
	lim := &joinLimiter{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if !lim.allowed(host, s.d.Now()) {
			w.Header().Set("Retry-After", fmt.Sprint(int(joinFailWindow.Seconds())))
			writeError(w, http.StatusTooManyRequests, "too many wrong join codes from %s: wait %s", host, joinFailWindow)
			return
		}
		var req api.JoinRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "body: want JSON {\"code\": \"7KQMX-2HD9P\"}: %v", err)
			return
		}
		from := host
		if req.Hostname != "" {
			from = fmt.Sprintf("%s (%.64s)", host, req.Hostname)
		}
		cr, err := s.d.Joins.Join(r.Context(), req.Code, from, r.Host)
		var bad *cmdkit.BadInputError
		switch {
		case err == nil:
		case errors.As(err, &bad):
			lim.failed(host, s.d.Now())
			writeError(w, http.StatusBadRequest, "%s", bad.Msg)
			return
		case errors.Is(err, accounts.ErrJoinCodeUnknown):
			lim.failed(host, s.d.Now())
			s.d.Log.Warn("join with an unknown code", "from", from)
			writeError(w, http.StatusNotFound, "unknown join code: check it, or issue a new one at the city with `loa-city ward code WARD`")
			return
		case errors.Is(err, accounts.ErrJoinCodeUsed), errors.Is(err, accounts.ErrJoinCodeExpired):
			lim.failed(host, s.d.Now())
			s.d.Log.Warn("join refused", "from", from, "err", err)
			writeError(w, http.StatusGone, "%v", err)
			return
		default:
			s.internalError(w, r, err)
			return
		}
		payload, err := json.Marshal(cr)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, signing.Sign(s.d.Key, payload))
	})
}

// ManifestVersionHeader is sent by a ward with the manifest version it has
// in effect, so that the city can show who is out of sync.
const ManifestVersionHeader = "Loa-Manifest-Version"

func (s *Server) getManifest(w http.ResponseWriter, r *http.Request, p principal) {
	if v, err := strconv.ParseInt(r.Header.Get(ManifestVersionHeader), 10, 64); err == nil {
		s.d.Board.NoteSeen(p.ward, v)
	}
	m, ok, err := s.d.Programs.Manifest(r.Context(), p.ward, func(etag string) bool {
		return etagMatch(r.Header.Get("If-None-Match"), etag)
	})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no manifest for ward %s yet", p.ward)
		return
	}
	w.Header().Set("ETag", m.ETag)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Vary", "Accept-Encoding")
	if m.NotModified {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	body := m.Envelope
	if acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		body = m.Gzip
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	s.d.Log.Debug("manifest sent", "ward", p.ward, "version", m.Version, "bytes", len(body))
}

// etagMatch implements If-None-Match's comparison (weak, as RFC 9110 asks).
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(coding) == "gzip" && strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func (s *Server) getMediaFile(w http.ResponseWriter, r *http.Request, p principal) {
	key := r.PathValue("sha256")
	if err := library.CheckKey(key); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if p.ward != "" {
		ok, err := s.d.Library.WardMayFetch(ctx, p.ward, key)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		if !ok {
			writeError(w, http.StatusForbidden, "media %s is not in the manifest of ward %s nor in an alert for it", key, p.ward)
			return
		}
	}
	f, err := s.d.Library.OpenFile(key)
	if errors.Is(err, os.ErrNotExist) {
		writeError(w, http.StatusNotFound, "no media %s", key)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("ETag", `"`+key+`"`)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Type", "audio/mpeg")
	// ServeContent does Range (206), If-Range and If-None-Match.
	http.ServeContent(w, r, "", time.Time{}, f)
}

// putReceiptKey is PUT /api/v1/ward/receipt-key: a ward registers the
// public half of the key it signs its receipts with. The first key stays:
// the same key again is 200, another one 409 (and an identity alarm),
// until a join code re-provisions the ward.
func (s *Server) putReceiptKey(w http.ResponseWriter, r *http.Request, p principal) {
	var body api.ReceiptKey
	if !decodeBody(w, r, &body) {
		return
	}
	k, _, err := s.d.Accounts.RegisterReceiptKey(r.Context(), p.ward, body.PublicKey)
	switch {
	case errors.Is(err, accounts.ErrReceiptKeyTaken):
		s.d.Log.Warn("a second receipt key offered for a ward: refused", "ward", p.ward, "key_id", k.KeyID, "remote", r.RemoteAddr)
		s.d.Board.Flag(p.ward, fleet.AlarmKeyConflict, fmt.Sprintf(
			"khoá ký báo nhận thứ hai / a second receipt key (%s) offered from %s; re-provision the ward (loa-city ward code %s)", k.KeyID, r.RemoteAddr, p.ward))
		writeError(w, http.StatusConflict, "ward %s already has another receipt key: a new join code (loa-city ward code %s) re-provisions it", p.ward, p.ward)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ReceiptKey{PublicKey: k.PublicKey, KeyID: k.KeyID})
}
