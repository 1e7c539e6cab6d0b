package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"loa/cap"
	"loa/city/alerting"
	"loa/city/capin"
	"loa/sqlite"
)

// CAP is CAP 1.2 in and out (*capin.Service, docs/cap.md).
type CAP interface {
	// Ingest reads a message and acts on it through the alerting
	// service; every message is recorded with its outcome.
	Ingest(ctx context.Context, data []byte, via, by string) (capin.Result, error)
	Messages(ctx context.Context, limit int) ([]sqlite.CAPMessage, error)
	Feed(ctx context.Context) ([]byte, error)
	CAPAlert(ctx context.Context, id string) ([]byte, error)
	// PublicFeed: the feed is read without a token.
	PublicFeed() bool
}

// capMessageJSON is a CAP message received, as GET /api/v1/cap lists it.
type capMessageJSON struct {
	Seq        int64     `json:"seq"`
	Received   time.Time `json:"received"`
	Via        string    `json:"via"`
	Sender     string    `json:"sender"`
	Identifier string    `json:"identifier"`
	Sent       string    `json:"sent,omitempty"`
	MsgType    string    `json:"msg_type,omitempty"`
	Status     string    `json:"status,omitempty"`
	Signer     string    `json:"signer,omitempty"`
	Headline   string    `json:"headline,omitempty"`
	// Outcome: played, updated, cancelled, refused (Reason says why) or
	// pending (held for approval: Alert is the request).
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	// Alert is the loa alert it became, or those it stopped.
	Alert     string `json:"alert,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

func capJSON(m sqlite.CAPMessage) capMessageJSON {
	return capMessageJSON{Seq: m.Seq, Received: m.Received.UTC(), Via: m.Via, Sender: m.Sender, Identifier: m.Identifier, Sent: m.Sent,
		MsgType: m.MsgType, Status: m.Status, Signer: m.Signer, Headline: m.Headline, Outcome: m.Outcome, Reason: m.Reason, Alert: m.Alert}
}

// postCAP takes one CAP 1.2 message (the body, application/cap+xml or
// application/xml). 201: played, updated or cancelled; 200: a duplicate
// of one acted on before; 422: refused (the reason in the answer and in
// GET /api/v1/cap); 413: over cap.MaxMessage.
func (s *Server) postCAP(w http.ResponseWriter, r *http.Request, p principal) {
	if s.d.CAP == nil {
		writeError(w, http.StatusServiceUnavailable, "CAP is not available")
		return
	}
	if !p.scope.CityWide() {
		// A CAP message's area decides its wards: the city's to post.
		outOfScope(w, p, "CAP")
		return
	}
	if r.ContentLength > cap.MaxMessage {
		writeError(w, http.StatusRequestEntityTooLarge, "bản tin CAP %d byte, tối đa %d / CAP message of %d bytes, at most %d", r.ContentLength, cap.MaxMessage, r.ContentLength, cap.MaxMessage)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, cap.MaxMessage+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	if len(body) > cap.MaxMessage {
		writeError(w, http.StatusRequestEntityTooLarge, "bản tin CAP quá %d byte / CAP message over %d bytes", cap.MaxMessage, cap.MaxMessage)
		return
	}
	res, err := s.d.CAP.Ingest(r.Context(), body, "user:"+p.name(), p.name())
	out := capJSON(res.Message)
	out.Duplicate = res.Duplicate
	switch {
	case errors.Is(err, alerting.ErrAlertNotPublished):
		writeJSON(w, http.StatusServiceUnavailable, out)
	case err != nil:
		s.fail(w, r, err)
	case res.Duplicate:
		writeJSON(w, http.StatusOK, out)
	case out.Outcome == capin.Refused:
		writeJSON(w, http.StatusUnprocessableEntity, out)
	case out.Outcome == capin.Pending:
		w.Header().Set("Location", "/api/v1/alert-requests/"+out.Alert)
		writeJSON(w, http.StatusAccepted, out)
	default:
		if out.Alert != "" && out.Outcome != capin.Cancelled {
			w.Header().Set("Location", "/api/v1/alerts/"+out.Alert)
		}
		writeJSON(w, http.StatusCreated, out)
	}
}

func (s *Server) listCAP(w http.ResponseWriter, r *http.Request, p principal) {
	if s.d.CAP == nil {
		writeError(w, http.StatusServiceUnavailable, "CAP is not available")
		return
	}
	limit, ok := queryLimit(w, r, 100)
	if !ok {
		return
	}
	list, err := s.d.CAP.Messages(r.Context(), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]capMessageJSON, 0, len(list))
	for _, m := range list {
		out = append(out, capJSON(m))
	}
	writeJSON(w, http.StatusOK, out)
}

// capFeed serves the city's feed: without a token when cap.public_feed
// is on, else to any signed-in user (not to wards).
func (s *Server) capFeed(fn func(http.ResponseWriter, *http.Request, principal)) http.Handler {
	authed := s.authed(fn, "admin", "operator", "technician", "alerter")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.d.CAP == nil {
			writeError(w, http.StatusServiceUnavailable, "CAP is not available")
			return
		}
		if s.d.CAP.PublicFeed() {
			fn(w, r, principal{})
			return
		}
		authed.ServeHTTP(w, r)
	})
}

func (s *Server) getCAPFeed(w http.ResponseWriter, r *http.Request, p principal) {
	feed, err := s.d.CAP.Feed(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Write(feed)
}

func (s *Server) getCAPAlert(w http.ResponseWriter, r *http.Request, p principal) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".xml")
	if !ok {
		writeError(w, http.StatusNotFound, "want /cap/alerts/ID.xml")
		return
	}
	doc, err := s.d.CAP.CAPAlert(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/cap+xml; charset=utf-8")
	w.Write(doc)
}
