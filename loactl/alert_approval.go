package loactl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"loa/city/api"
)

// exitPending: alert send recorded the alert as a request waiting for a
// second person's approval; it is NOT sent yet.
const exitPending = 3

// AlertRequests lists the requests of the two-person rule, newest first
// (pendingOnly: those still waiting).
func (c *Client) AlertRequests(ctx context.Context, pendingOnly bool) ([]api.AlertRequest, error) {
	var out []api.AlertRequest
	path := "/api/v1/alert-requests"
	if pendingOnly {
		path += "?state=pending"
	}
	return out, c.get(ctx, path, &out)
}

// ApproveAlert approves a request: the alert is sent.
func (c *Client) ApproveAlert(ctx context.Context, id string) (api.AlertRequest, *api.Alert, int, error) {
	var out struct {
		Request api.AlertRequest `json:"request"`
		Alert   *api.Alert       `json:"alert"`
	}
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/alert-requests/"+url.PathEscape(id)+"/approve", nil, nil, &out)
	if err != nil {
		return out.Request, nil, 0, err
	}
	return out.Request, out.Alert, resp.StatusCode, nil
}

// RefuseAlert refuses a request with a reason: nothing is sent.
func (c *Client) RefuseAlert(ctx context.Context, id, reason string) (api.AlertRequest, error) {
	b, _ := json.Marshal(api.AlertRefusal{Reason: reason})
	var out api.AlertRequest
	_, err := c.do(ctx, http.MethodPost, "/api/v1/alert-requests/"+url.PathEscape(id)+"/refuse", bytes.NewReader(b),
		http.Header{"Content-Type": {"application/json"}}, &out)
	return out, err
}

// pendingSent tells the operator that the alert waits for approval.
func (r *runner) pendingSent(id string, expires time.Time) int {
	fmt.Fprintf(r.stderr, "loactl alert send: %s CHƯA GỬI: chờ người thứ hai duyệt (loactl alert approve %s) trước %s / NOT SENT: waits for a second person's approval until %s\n",
		id, id, expires.Local().Format("15:04:05"), expires.Local().Format("15:04:05"))
	fmt.Fprintln(r.stdout, id)
	return exitPending
}

func (r *runner) alertPending(args []string) int {
	c := r.command("alert pending", "[--all] [--json]", "List the alerts waiting for a second person's approval (Chờ duyệt); --all shows\nthe decided and expired ones too.")
	all := c.fs.Bool("all", false, "every recent request, not only those waiting")
	asJSON := c.fs.Bool("json", false, "JSON output")
	if code, ok := c.parseFlags(args); !ok {
		return code
	}
	return printList(c, *asJSON, func(cl *Client) ([]api.AlertRequest, error) { return cl.AlertRequests(r.ctx, !*all) },
		"ID\tSTATE\tPRIORITY\tSTATUS\tTO\tWARDS\tBY\tEXPIRES\tHEADLINE", func(q api.AlertRequest) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s", q.ID, q.State, q.Priority, q.Status, q.Targets, len(q.WardIDs), q.RequestedBy,
				q.Expires.Local().Format("15:04:05"), q.Headline)
		})
}

func (r *runner) alertApprove(args []string) int {
	c := r.command("alert approve", "ID [--json]", "Approve an alert waiting for a second person (Phê duyệt): it is signed and sent at\nonce. Needs the approver role; the person who asked cannot approve it.")
	asJSON := c.fs.Bool("json", false, "print the request and the alert as JSON")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.badArgs("want one request id (loactl alert pending lists them)")
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	q, a, st, err := cl.ApproveAlert(r.ctx, pos[0])
	if err != nil {
		return c.failed(err)
	}
	if *asJSON {
		r.json(map[string]any{"request": q, "alert": a})
	}
	if st == http.StatusAccepted {
		fmt.Fprintf(r.stderr, "loactl alert approve: %s approved but %s is NOT SENT yet: the city's NATS did not take it\n", q.ID, q.Alert)
		return exitFailure
	}
	if !*asJSON {
		fmt.Fprintf(r.stdout, "%s approved; alert %s sent\n", q.ID, q.Alert)
	}
	return exitOK
}

func (r *runner) alertRefuse(args []string) int {
	c := r.command("alert refuse", "ID --reason R", "Refuse an alert waiting for approval (Từ chối duyệt): nothing is sent.")
	reason := c.fs.String("reason", "", "why (required)")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.badArgs("want one request id (loactl alert pending lists them)")
	}
	if *reason == "" {
		return c.badArgs("--reason is required: say why the alert is refused")
	}
	cl, code := c.client()
	if cl == nil {
		return code
	}
	q, err := cl.RefuseAlert(r.ctx, pos[0], *reason)
	if err != nil {
		return c.failed(err)
	}
	fmt.Fprintf(r.stdout, "%s refused: nothing sent\n", q.ID)
	return exitOK
}
