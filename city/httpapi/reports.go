package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"loa/city/reports"
)

// Reports make proof-of-play reports (*reports.Service).
type Reports interface {
	Make(ctx context.Context, q reports.Query) (reports.Report, error)
	// Station is the station's name for exported reports.
	Station() string
}

// getReport is GET /api/v1/reports?ward=ID|group=G&from=&to=&format=:
// proof of play (docs/api.md, "Reports") as JSON, CSV or XLSX. A scoped
// user's report covers only her wards.
func (s *Server) getReport(w http.ResponseWriter, r *http.Request, p principal) {
	if s.d.Reports == nil {
		writeError(w, http.StatusNotFound, "no reports on this city")
		return
	}
	q := r.URL.Query()
	from, to, err := reports.ParseRange(q.Get("from"), q.Get("to"), s.today())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	format := q.Get("format")
	switch format {
	case "", "json", "csv", "xlsx":
	default:
		writeError(w, http.StatusBadRequest, "định dạng / format %q: cần json, csv hoặc xlsx / want json, csv or xlsx", format)
		return
	}
	if q.Get("ward") != "" && q.Get("group") != "" {
		writeError(w, http.StatusBadRequest, "phường / ward và nhóm / group: chọn một / give one of ward and group, not both")
		return
	}
	rep, err := s.d.Reports.Make(r.Context(), reports.Query{Ward: q.Get("ward"), Group: q.Get("group"), From: from, To: to, Scope: p.scope})
	if errors.Is(err, reports.ErrOutOfScope) {
		outOfScope(w, p, firstOf(q.Get("ward"), "group:"+q.Get("group")))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := "bao-cao-" + rep.From + "-" + rep.To
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		rep.WriteCSV(w, s.d.Location)
	case "xlsx":
		var b bytes.Buffer
		if err := rep.WriteXLSX(&b, s.d.Location, s.d.Reports.Station()); err != nil {
			s.internalError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
		w.Write(b.Bytes())
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
