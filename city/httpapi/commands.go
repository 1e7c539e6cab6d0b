package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"loa/city/commands"
	"loa/command"
)

// Signed commands to wards (docs/commands.md): POST /api/v1/commands
// sends one, GET /api/v1/commands/{id} shows it with each ward's ack.

// Commands is city/commands as the API uses it.
type Commands interface {
	Plan(ctx context.Context, r commands.Request) (*command.Command, []string, error)
	Send(ctx context.Context, c *command.Command) error
	Status(ctx context.Context, id string) (*commands.Status, error)
}

const maxCommandBody = 64 << 10

// CommandSent is the answer to POST /api/v1/commands.
type CommandSent struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	To      string   `json:"to"`
	Wards   []string `json:"wards"`
	Expires string   `json:"expires"`
	// Published is false when JetStream did not take it yet (202): the
	// city keeps trying until it expires.
	Published bool `json:"published"`
}

func (s *Server) postCommand(w http.ResponseWriter, r *http.Request, p principal) {
	if s.d.Commands == nil {
		writeError(w, http.StatusServiceUnavailable, "lệnh điều khiển không khả dụng / commands are not available")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCommandBody+1))
	if err != nil || len(body) > maxCommandBody {
		writeError(w, http.StatusBadRequest, "nội dung yêu cầu không đúng / bad request body: at most %d bytes", maxCommandBody)
		return
	}
	var req commands.Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "nội dung yêu cầu không đúng / bad request body: %v", err)
		return
	}
	if p.role == "alerter" && req.Kind != command.StopAll {
		writeError(w, http.StatusForbidden, "kind: người gửi cảnh báo chỉ được gửi lệnh Dừng tất cả / an alerter may send stop_all only, not %q; nothing sent", req.Kind)
		return
	}
	if req.To == "" {
		writeError(w, http.StatusBadRequest, "to: thiếu phường nhận / missing: all, ward ids or group:NAME")
		return
	}
	if !s.targetsInScope(w, r, p, req.To) {
		return
	}
	req.Sender = p.name()
	c, wards, err := s.d.Commands.Plan(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = s.d.Commands.Send(r.Context(), c)
	res := CommandSent{ID: c.ID, Kind: string(c.Kind), To: c.To.String(), Wards: wards, Expires: c.Expires.Format("2006-01-02T15:04:05Z07:00"), Published: err == nil}
	switch {
	case errors.Is(err, commands.ErrNoNATS):
		writeError(w, http.StatusServiceUnavailable, "NATS của thành phố chưa chạy / %v", err)
		return
	case errors.Is(err, commands.ErrNotPublished):
		s.record(r, p, c)
		w.Header().Set("Location", "/api/v1/commands/"+c.ID)
		writeJSON(w, http.StatusAccepted, res)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.record(r, p, c)
	w.Header().Set("Location", "/api/v1/commands/"+c.ID)
	writeJSON(w, http.StatusCreated, res)
}

// record writes what was sent to the audit log (the route alone does not
// say the kind, the wards or the id).
func (s *Server) record(r *http.Request, p principal, c *command.Command) {
	if s.d.Record != nil {
		args, _ := json.Marshal(c.Args)
		s.d.Record(r.Context(), p.name(), "command "+string(c.Kind), c.ID, "to="+c.To.String()+" args="+string(args))
	}
}

func (s *Server) getCommand(w http.ResponseWriter, r *http.Request, p principal) {
	if s.d.Commands == nil {
		writeError(w, http.StatusServiceUnavailable, "lệnh điều khiển không khả dụng / commands are not available")
		return
	}
	st, err := s.d.Commands.Status(r.Context(), r.PathValue("id"))
	if errors.Is(err, commands.ErrNotFound) {
		writeError(w, http.StatusNotFound, "không có lệnh %s / %v", r.PathValue("id"), err)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if !p.scope.CityWide() {
		if !st.Known {
			outOfScope(w, p, "command "+st.ID)
			return
		}
		if !s.targetsInScope(w, r, p, st.To) {
			return
		}
	}
	writeJSON(w, http.StatusOK, st)
}
