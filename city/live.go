package city

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"loa/city/api"
)

// Live announcements (city/alerting): the routes.
func (c *City) liveRoutes(h func(string, func(http.ResponseWriter, *http.Request, principal), ...string)) {
	h("POST /api/v1/live", c.postLive, "admin", "alerter", "operator")
	h("GET /api/v1/live", c.getLive, "admin", "alerter", "operator", "technician")
	h("DELETE /api/v1/live/{id}", c.deleteLive, "admin", "alerter", "operator")
}

func (c *City) postLive(w http.ResponseWriter, r *http.Request, p principal) {
	var req api.NewLive
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	res, err := c.Alerting.StartLive(r.Context(), req, p.name())
	if err != nil {
		c.liveFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

func (c *City) getLive(w http.ResponseWriter, r *http.Request, p principal) {
	writeJSON(w, http.StatusOK, c.Alerting.ListLive())
}

func (c *City) deleteLive(w http.ResponseWriter, r *http.Request, p principal) {
	if err := c.Alerting.StopLive(r.Context(), r.PathValue("id"), p.name()); err != nil {
		c.liveFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *City) liveFail(w http.ResponseWriter, err error) {
	var bad *BadInputError
	switch {
	case errors.As(err, &bad):
		writeError(w, http.StatusBadRequest, "%v", err)
	case errors.Is(err, ErrNoNATS):
		writeError(w, http.StatusServiceUnavailable, "%v", err)
	default:
		writeError(w, http.StatusInternalServerError, "%v", err)
	}
}
