package cap

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"loa/alert"
)

// FromLoa writes loa's alert a as a CAP 1.2 alert. refs are the CAP
// references of the alerts an Update or Cancel stops (sender,id,sent).
// Its area carries the wards and groups as loa-ward and loa-group
// geocodes, so that another loa city maps it without configuration.
func FromLoa(a *alert.Alert, refs []Reference, loc *time.Location) *Alert {
	c := &Alert{
		XMLName:    xml.Name{Space: Namespace, Local: "alert"},
		Identifier: a.ID, Sender: a.Sender, Sent: FormatTime(a.Issued.In(loc)),
		Status: string(a.Status), MsgType: string(a.MsgType), Scope: "Public",
	}
	if c.Status == "" {
		c.Status = "Actual"
	}
	var rs []string
	for _, r := range refs {
		rs = append(rs, r.Sender+","+r.Identifier+","+r.Sent)
	}
	c.References = strings.Join(rs, " ")
	if a.MsgType == alert.MsgCancel {
		return c
	}
	or := func(s, d string) string {
		if s == "" {
			return d
		}
		return s
	}
	in := Info{
		Language: or(a.Language, "vi-VN"), Category: []string{"Safety"},
		Event:   or(a.Event, or(a.Headline, "Cảnh báo / Alert")),
		Urgency: or(a.Urgency, "Unknown"), Severity: or(a.Severity, "Unknown"), Certainty: or(a.Certainty, "Unknown"),
		Expires: FormatTime(a.Expires.In(loc)), SenderName: a.Sender, Headline: a.Headline,
		Description: or(a.Description, a.Content.Text), Instruction: a.Instruction,
	}
	if in.Urgency == "Unknown" && in.Severity == "Unknown" && a.Priority == alert.Emergency {
		in.Urgency, in.Severity, in.Certainty = "Immediate", "Extreme", or(a.Certainty, "Likely")
	}
	area := Area{AreaDesc: or(a.Area, a.Targets.String())}
	if a.Targets.All {
		area.AreaDesc = or(a.Area, "Toàn thành phố / whole city")
	}
	for _, w := range a.Targets.Wards {
		area.Geocode = append(area.Geocode, ValuePair{GeocodeWard, w})
	}
	for _, g := range a.Targets.Groups {
		area.Geocode = append(area.Geocode, ValuePair{GeocodeGroup, g})
	}
	in.Area = []Area{area}
	c.Info = []Info{in}
	return c
}

// Marshal writes a CAP 1.2 document.
func (a *Alert) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	a.XMLName = xml.Name{Space: Namespace, Local: "alert"}
	if err := enc.Encode(a); err != nil {
		return nil, fmt.Errorf("write CAP %s: %w", a.Identifier, err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// CheckDigest compares data with a resource's digest: SHA-1 (CAP 1.2) or
// SHA-256, hex. An empty digest checks nothing.
func CheckDigest(data []byte, digest string) error {
	d := strings.ToLower(strings.TrimSpace(digest))
	var got string
	switch len(d) {
	case 0:
		return nil
	case 40:
		s := sha1.Sum(data)
		got = hex.EncodeToString(s[:])
	case 64:
		s := sha256.Sum256(data)
		got = hex.EncodeToString(s[:])
	default:
		return errf("resource/digest", "không phải SHA-1 hay SHA-256", "not a SHA-1 or SHA-256 digest")
	}
	if got != d {
		return errf("resource/digest", "âm thanh không khớp mã băm: %s, tính được %s", "the audio does not match its digest: %s, computed %s", d, got)
	}
	return nil
}

// Inline decodes a derefUri (base64).
func Inline(r *Resource) ([]byte, error) {
	s := strings.Join(strings.Fields(r.DerefURI), "")
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errf("resource/derefUri", "không phải base64: %v", "not base64: %v", err)
	}
	return b, nil
}
