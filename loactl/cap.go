package loactl

import (
	"fmt"
	"strings"
	"time"
)

// CAPMessage is a CAP message the city received (GET /api/v1/cap).
type CAPMessage struct {
	Seq        int64     `json:"seq"`
	Received   time.Time `json:"received"`
	Via        string    `json:"via"`
	Sender     string    `json:"sender"`
	Identifier string    `json:"identifier"`
	MsgType    string    `json:"msg_type,omitempty"`
	Status     string    `json:"status,omitempty"`
	Signer     string    `json:"signer,omitempty"`
	Headline   string    `json:"headline,omitempty"`
	Outcome    string    `json:"outcome"`
	Reason     string    `json:"reason,omitempty"`
	Alert      string    `json:"alert,omitempty"`
}

// capOutcomes are the outcomes in the glossary's words.
var capOutcomes = map[string]string{
	"played":    "đã phát / played",
	"updated":   "đã thay thế / updated",
	"cancelled": "đã huỷ / cancelled",
	"refused":   "từ chối / refused",
}

// capList lists the CAP messages the city received, newest first.
func (r *runner) capList(args []string) int {
	c := r.command("cap", "[--json] [--limit N]", "List the CAP messages the city received, newest first, with what came of each.")
	asJSON := c.fs.Bool("json", false, "JSON output")
	limit := c.fs.Int("limit", 50, "how many (1-1000)")
	if code, ok := c.parseFlags(args); !ok {
		return code
	}
	return printList(c, *asJSON, func(cl *Client) ([]CAPMessage, error) {
		var list []CAPMessage
		return list, cl.get(r.ctx, fmt.Sprintf("/api/v1/cap?limit=%d", *limit), &list)
	}, "RECEIVED\tSENDER\tIDENTIFIER\tTYPE\tOUTCOME\tALERT\tREASON", func(m CAPMessage) string {
		out := capOutcomes[m.Outcome]
		if out == "" {
			out = m.Outcome
		}
		reason := strings.Join(strings.Fields(m.Reason), " ")
		if len(reason) > 120 {
			reason = reason[:117] + "..."
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", m.Received.Local().Format("2006-01-02 15:04:05"), m.Sender, m.Identifier,
			m.MsgType, out, m.Alert, reason)
	})
}
