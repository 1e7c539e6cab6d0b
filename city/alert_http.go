package city

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"loa/alert"
	"loa/city/api"
)

// maxAlertBody bounds POST /api/v1/alerts: text of alert.MaxText
// characters is under 16 KiB; 1 MiB leaves room for every field and is
// small enough to refuse before reading further.
const maxAlertBody = 1 << 20

// alertRoutes adds the alert endpoints (docs/api.md, docs/alerts.md).
func (c *City) alertRoutes(h func(string, func(http.ResponseWriter, *http.Request, principal), ...string)) {
	h("POST /api/v1/alerts", c.postAlert, "admin", "alerter")
	h("GET /api/v1/alerts", c.listAlerts, "admin", "alerter", "operator", "technician")
	h("GET /api/v1/alerts/{id}", c.getAlert, "admin", "alerter", "operator", "technician")
	h("POST /api/v1/alerts/{id}/cancel", c.postCancel, "admin", "alerter")
}

func (c *City) postAlert(w http.ResponseWriter, r *http.Request, p principal) {
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
	res, queued, err := c.Alerting.Send(r.Context(), req, p.name())
	if err != nil {
		c.alertFail(w, r, err)
		return
	}
	status := http.StatusCreated
	if queued {
		status = http.StatusAccepted
	}
	w.Header().Set("Location", "/api/v1/alerts/"+res.ID)
	writeJSON(w, status, res)
}

func (c *City) postCancel(w http.ResponseWriter, r *http.Request, p principal) {
	res, queued, err := c.Alerting.Cancel(r.Context(), r.PathValue("id"), p.name())
	if err != nil {
		c.alertFail(w, r, err)
		return
	}
	status := http.StatusOK
	if queued {
		status = http.StatusAccepted
	}
	writeJSON(w, status, res)
}

func (c *City) getAlert(w http.ResponseWriter, r *http.Request, p principal) {
	res, err := c.Alerting.Status(r.Context(), r.PathValue("id"))
	if err != nil {
		c.alertFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (c *City) listAlerts(w http.ResponseWriter, r *http.Request, p principal) {
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit: want 1-1000")
			return
		}
		limit = n
	}
	res, err := c.Alerting.List(r.Context(), limit)
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (c *City) alertFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrAlertNotFound):
		writeError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, ErrAlertConflict):
		writeError(w, http.StatusConflict, "%v", err)
	case errors.Is(err, ErrNoNATS), errors.Is(err, ErrAlertNotPublished):
		writeError(w, http.StatusServiceUnavailable, "%v", err)
	default:
		c.fail(w, r, err)
	}
}
