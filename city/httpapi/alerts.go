package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"loa/alert"
	"loa/city/alerting"
	"loa/city/api"
	"loa/internal/cmdkit"
)

// Alerts and live announcements (docs/api.md, docs/alerts.md), the health
// of the alert path and the metrics.

// maxAlertBody bounds POST /api/v1/alerts: text of alert.MaxText
// characters is under 16 KiB; 1 MiB leaves room for every field and is
// small enough to refuse before reading further.
const maxAlertBody = 1 << 20

func (s *Server) postAlert(w http.ResponseWriter, r *http.Request, p principal) {
	if r.ContentLength > maxAlertBody {
		writeError(w, http.StatusRequestEntityTooLarge, "request of %d bytes: at most %d (text is at most %d characters)", r.ContentLength, maxAlertBody, alert.MaxText)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAlertBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	if len(body) > maxAlertBody {
		writeError(w, http.StatusRequestEntityTooLarge, "request over %d bytes (text is at most %d characters)", maxAlertBody, alert.MaxText)
		return
	}
	var req api.NewAlert
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "nội dung yêu cầu không đúng / bad request body: %v", err)
		return
	}
	if !s.targetsInScope(w, r, p, req.To) {
		return
	}
	res, queued, err := s.d.Alerting.Send(r.Context(), req, p.name())
	if err != nil && pendingAnswer(w, err) {
		return
	}
	if err != nil {
		s.alertFail(w, r, err)
		return
	}
	status := http.StatusCreated
	if queued {
		status = http.StatusAccepted
	}
	w.Header().Set("Location", "/api/v1/alerts/"+res.ID)
	writeJSON(w, status, res)
}

func (s *Server) postCancel(w http.ResponseWriter, r *http.Request, p principal) {
	if !p.scope.CityWide() {
		// An alert that reaches wards outside the scope is not the
		// scoped user's to cancel.
		a, err := s.d.Alerting.Status(r.Context(), r.PathValue("id"))
		if err != nil {
			s.alertFail(w, r, err)
			return
		}
		if !s.targetsInScope(w, r, p, a.Targets) {
			return
		}
	}
	res, queued, err := s.d.Alerting.Cancel(r.Context(), r.PathValue("id"), p.name())
	if err != nil {
		s.alertFail(w, r, err)
		return
	}
	status := http.StatusOK
	if queued {
		status = http.StatusAccepted
	}
	writeJSON(w, status, res)
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request, p principal) {
	res, err := s.d.Alerting.Status(r.Context(), r.PathValue("id"))
	if err != nil {
		s.alertFail(w, r, err)
		return
	}
	places, ok := s.placesFor(w, r, p)
	if !ok {
		return
	}
	if !p.scope.Reaches(res.Targets, places) {
		outOfScope(w, p, res.Targets)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request, p principal) {
	limit, ok := queryLimit(w, r, 50)
	if !ok {
		return
	}
	res, err := s.d.Alerting.List(r.Context(), limit)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	places, ok := s.placesFor(w, r, p)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, keepIf(res, func(a api.AlertListEntry) bool { return p.scope.Reaches(a.Targets, places) }))
}

func (s *Server) postLive(w http.ResponseWriter, r *http.Request, p principal) {
	var req api.NewLive
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	if !s.targetsInScope(w, r, p, req.To) {
		return
	}
	res, err := s.d.Alerting.StartLive(r.Context(), req, p.name())
	if err != nil {
		liveFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

func (s *Server) getLive(w http.ResponseWriter, r *http.Request, p principal) {
	places, ok := s.placesFor(w, r, p)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, keepIf(s.d.Alerting.ListLive(), func(l api.Live) bool { return p.scope.Reaches(l.To, places) }))
}

func (s *Server) deleteLive(w http.ResponseWriter, r *http.Request, p principal) {
	if !p.scope.CityWide() {
		for _, l := range s.d.Alerting.ListLive() {
			if l.ID == r.PathValue("id") && !s.targetsInScope(w, r, p, l.To) {
				return
			}
		}
	}
	if err := s.d.Alerting.StopLive(r.Context(), r.PathValue("id"), p.name()); err != nil {
		liveFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func liveFail(w http.ResponseWriter, err error) {
	var bad *cmdkit.BadInputError
	switch {
	case errors.As(err, &bad):
		writeError(w, http.StatusBadRequest, "%v", err)
	case errors.Is(err, alerting.ErrNoNATS):
		writeError(w, http.StatusServiceUnavailable, "%v", err)
	default:
		writeError(w, http.StatusInternalServerError, "%v", err)
	}
}

// getHealthz is GET /healthz (no token): 200 "ok" when the city can send
// alerts, else 503 with one problem a line. A monitor (or a load
// balancer) needs no more than the status.
func (s *Server) getHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ps := s.d.Alerting.Problems()
	if len(ps) == 0 {
		w.Write([]byte("ok\n"))
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte("KHÔNG GỬI ĐƯỢC CẢNH BÁO / ALERTS CANNOT BE SENT\n" + strings.Join(ps, "\n") + "\n"))
}

// getMetrics is GET /metrics (any user's token: Prometheus sends one with
// `authorization: {credentials_file: ...}`): the city's registry
// (Deps.Metrics).
func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request, p principal) {
	if s.metrics == nil {
		writeError(w, http.StatusNotFound, "no metrics")
		return
	}
	s.metrics.ServeHTTP(w, r)
}
