// Package cap reads and writes CAP 1.2 (OASIS Common Alerting Protocol,
// ITU-T X.1303; namespace urn:oasis:names:tc:emergency:cap:1.2), the
// format every national and international warning system speaks.
//
// It parses a message the way a receiver must: the size is bounded before
// a byte is parsed, a document with a DTD (and so any entity, the billion
// laughs included) is refused rather than expanded, a root that is not a
// CAP 1.2 alert is refused, and the schema rules a receiver relies on
// (required elements, the enumerations, references, dates with a time
// zone, polygon and circle syntax) are checked; every error names the
// element, in Vietnamese and English. Enveloped XML signatures (as IPAWS
// signs) are verified where present (sig.go); Policy says which messages
// play. It also writes CAP 1.2 and an Atom feed of CAP entries.
//
// It knows nothing of HTTP, NATS or SQLite: package city/capin uses it.
package cap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Namespace is CAP 1.2's XML namespace.
const Namespace = "urn:oasis:names:tc:emergency:cap:1.2"

// MaxMessage bounds a CAP message read from outside: an IPAWS message with
// its audio inline in derefUri is about 100 KB for a minute of speech;
// 4 MiB leaves room for several minutes and is refused before parsing.
const MaxMessage = 4 << 20

// Alert is a CAP 1.2 <alert>.
type Alert struct {
	XMLName     xml.Name `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert"`
	Identifier  string   `xml:"identifier"`
	Sender      string   `xml:"sender"`
	Sent        string   `xml:"sent"`
	Status      string   `xml:"status"`
	MsgType     string   `xml:"msgType"`
	Source      string   `xml:"source,omitempty"`
	Scope       string   `xml:"scope"`
	Restriction string   `xml:"restriction,omitempty"`
	Addresses   string   `xml:"addresses,omitempty"`
	Code        []string `xml:"code,omitempty"`
	Note        string   `xml:"note,omitempty"`
	References  string   `xml:"references,omitempty"`
	Incidents   string   `xml:"incidents,omitempty"`
	Info        []Info   `xml:"info"`

	// Signed says the message carried an enveloped XML signature that
	// verified; Signer is its certificate's SHA-256 fingerprint (hex) and
	// SignerName its subject. Set by Read, never by the XML.
	Signed     bool   `xml:"-"`
	Signer     string `xml:"-"`
	SignerName string `xml:"-"`
}

// Info is an <info> block: one language's account of the event.
type Info struct {
	Language     string      `xml:"language,omitempty"`
	Category     []string    `xml:"category"`
	Event        string      `xml:"event"`
	ResponseType []string    `xml:"responseType,omitempty"`
	Urgency      string      `xml:"urgency"`
	Severity     string      `xml:"severity"`
	Certainty    string      `xml:"certainty"`
	Audience     string      `xml:"audience,omitempty"`
	EventCode    []ValuePair `xml:"eventCode,omitempty"`
	Effective    string      `xml:"effective,omitempty"`
	Onset        string      `xml:"onset,omitempty"`
	Expires      string      `xml:"expires,omitempty"`
	SenderName   string      `xml:"senderName,omitempty"`
	Headline     string      `xml:"headline,omitempty"`
	Description  string      `xml:"description,omitempty"`
	Instruction  string      `xml:"instruction,omitempty"`
	Web          string      `xml:"web,omitempty"`
	Contact      string      `xml:"contact,omitempty"`
	Parameter    []ValuePair `xml:"parameter,omitempty"`
	Resource     []Resource  `xml:"resource,omitempty"`
	Area         []Area      `xml:"area,omitempty"`
}

// ValuePair is CAP's valueName/value (eventCode, parameter, geocode).
type ValuePair struct {
	ValueName string `xml:"valueName"`
	Value     string `xml:"value"`
}

// Resource is a <resource>: a file with the message (audio, an image).
type Resource struct {
	ResourceDesc string `xml:"resourceDesc"`
	MimeType     string `xml:"mimeType"`
	Size         int64  `xml:"size,omitempty"`
	URI          string `xml:"uri,omitempty"`
	// DerefURI is the file itself, base64.
	DerefURI string `xml:"derefUri,omitempty"`
	// Digest is the file's SHA-1 (CAP 1.2), hex; loa also takes SHA-256.
	Digest string `xml:"digest,omitempty"`
}

// Area is an <area>.
type Area struct {
	AreaDesc string      `xml:"areaDesc"`
	Polygon  []string    `xml:"polygon,omitempty"`
	Circle   []string    `xml:"circle,omitempty"`
	Geocode  []ValuePair `xml:"geocode,omitempty"`
	Altitude string      `xml:"altitude,omitempty"`
	Ceiling  string      `xml:"ceiling,omitempty"`
}

// Error is a problem with a message, naming the element, in Vietnamese
// and English.
type Error struct {
	// Field is the element's path (alert/info[1]/urgency), or a word for
	// the whole message (size, xml, signature).
	Field  string
	Vi, En string
}

func (e *Error) Error() string { return e.Field + ": " + e.Vi + " / " + e.En }

func errf(field, vi, en string, args ...any) *Error {
	return &Error{Field: field, Vi: fmt.Sprintf(vi, args...), En: fmt.Sprintf(en, args...)}
}

// ErrTooBig is a message over MaxMessage.
var ErrTooBig = errors.New("CAP message too big")

// Enumerations of CAP 1.2.
var (
	statuses   = []string{"Actual", "Exercise", "System", "Test", "Draft"}
	msgTypes   = []string{"Alert", "Update", "Cancel", "Ack", "Error"}
	scopes     = []string{"Public", "Restricted", "Private"}
	categories = []string{"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"}
	responses  = []string{"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"}
	urgencies  = []string{"Immediate", "Expected", "Future", "Past", "Unknown"}
	severities = []string{"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
	certs      = []string{"Observed", "Likely", "Possible", "Unlikely", "Unknown"}
)

func oneOf(s string, list []string) bool {
	for _, v := range list {
		if s == v {
			return true
		}
	}
	return false
}

// dateRE is CAP's dateTime: a time zone is required, as ±hh:mm (CAP 1.2
// §3.3.2 forbids "Z"; loa takes it all the same, since it is unambiguous).
var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$`)

// ParseTime reads a CAP dateTime; one without a time zone is an error.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if !dateRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not a CAP date and time with a time zone (YYYY-MM-DDThh:mm:ss+07:00)", s)
	}
	return time.Parse(time.RFC3339Nano, s)
}

// FormatTime writes t as CAP wants it: seconds, the zone as ±hh:mm.
func FormatTime(t time.Time) string {
	s := t.Format("2006-01-02T15:04:05-07:00")
	return s
}

// Reference is one entry of <references>: sender,identifier,sent.
type Reference struct {
	Sender, Identifier, Sent string
}

// ParseReferences reads <references>: space-separated
// sender,identifier,sent triples.
func ParseReferences(s string) ([]Reference, error) {
	var refs []Reference
	for _, f := range strings.Fields(s) {
		parts := strings.Split(f, ",")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("%q: want sender,identifier,sent", f)
		}
		if _, err := ParseTime(parts[2]); err != nil {
			return nil, fmt.Errorf("%q: %v", f, err)
		}
		refs = append(refs, Reference{parts[0], parts[1], parts[2]})
	}
	return refs, nil
}

// Key is how a message is known for references: sender and identifier.
func Key(sender, identifier string) string { return sender + "," + identifier }

// Point is a WGS 84 coordinate.
type Point struct{ Lat, Lon float64 }

func parsePoint(s string) (Point, error) {
	la, lo, ok := strings.Cut(strings.TrimSpace(s), ",")
	if !ok {
		return Point{}, fmt.Errorf("%q: want latitude,longitude", s)
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(la), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
	if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return Point{}, fmt.Errorf("%q: want latitude (-90..90),longitude (-180..180)", s)
	}
	return Point{lat, lon}, nil
}

// ParsePolygon reads a <polygon>: at least four points, the first and
// the last the same.
func ParsePolygon(s string) ([]Point, error) {
	var pts []Point
	for _, f := range strings.Fields(s) {
		p, err := parsePoint(f)
		if err != nil {
			return nil, err
		}
		pts = append(pts, p)
	}
	if len(pts) < 4 {
		return nil, fmt.Errorf("%d points: a polygon needs at least 4, the last equal to the first", len(pts))
	}
	if pts[0] != pts[len(pts)-1] {
		return nil, errors.New("the last point is not the first: a polygon must be closed")
	}
	return pts, nil
}

// Circle is a <circle>: a centre and a radius in kilometres.
type Circle struct {
	Centre   Point
	RadiusKM float64
}

// ParseCircle reads a <circle>: "lat,lon radius".
func ParseCircle(s string) (Circle, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return Circle{}, fmt.Errorf("%q: want latitude,longitude radius-km", s)
	}
	p, err := parsePoint(f[0])
	if err != nil {
		return Circle{}, err
	}
	r, err := strconv.ParseFloat(f[1], 64)
	if err != nil || r < 0 {
		return Circle{}, fmt.Errorf("radius %q: want kilometres, 0 or more", f[1])
	}
	return Circle{p, r}, nil
}

// Parse reads and checks a CAP 1.2 message without a signature check
// (Read checks the signature too). data longer than MaxMessage, a DTD, a
// root other than a CAP 1.2 alert, or any broken schema rule is an *Error.
func Parse(data []byte) (*Alert, error) {
	if err := screen(data); err != nil {
		return nil, err
	}
	var a Alert
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&a); err != nil {
		return nil, errf("xml", "XML không đọc được: %v", "XML does not parse: %v", err)
	}
	if err := a.Check(); err != nil {
		return nil, err
	}
	return &a, nil
}

// screen refuses before decoding: too big, not well-formed, a DTD or
// entity declaration (the billion laughs: refused, never expanded), a
// root that is not CAP 1.2's alert.
func screen(data []byte) error {
	if len(data) > MaxMessage {
		return &Error{Field: "size", Vi: fmt.Sprintf("bản tin %d byte, tối đa %d", len(data), MaxMessage),
			En: fmt.Sprintf("message of %d bytes, at most %d", len(data), MaxMessage)}
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	root := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errf("xml", "XML không đúng: %v", "malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return errf("xml", "có khai báo DTD/ENTITY: không nhận (không mở rộng thực thể)",
				"the message has a DTD or entity declaration: refused, entities are never expanded")
		case xml.StartElement:
			if root {
				root = false
				ns := t.Name.Space
				if t.Name.Local != "alert" || ns != Namespace {
					return errf("alert", "gốc là <%s> không gian tên %q, cần <alert> của CAP 1.2 (%s)",
						"the root is <%s> in namespace %q, want CAP 1.2's <alert> (%s)", t.Name.Local, ns, Namespace)
				}
			}
		}
	}
	if root {
		return errf("xml", "không có phần tử nào", "no element")
	}
	return nil
}

// Check applies CAP 1.2's rules that a receiver relies on.
func (a *Alert) Check() error {
	req := func(field, v string) error {
		if strings.TrimSpace(v) == "" {
			return errf(field, "thiếu (bắt buộc)", "missing (required)")
		}
		return nil
	}
	enum := func(field, v string, list []string) error {
		if !oneOf(v, list) {
			return errf(field, "%q không hợp lệ, cần một trong %s", "%q is not valid, want one of %s", v, strings.Join(list, ", "))
		}
		return nil
	}
	date := func(field, v string, optional bool) error {
		if optional && v == "" {
			return nil
		}
		if _, err := ParseTime(v); err != nil {
			return errf(field, "ngày giờ không đúng (cần múi giờ, ví dụ 2026-09-15T08:00:00+07:00): %v",
				"bad date and time (a time zone is required, e.g. 2026-09-15T08:00:00+07:00): %v", err)
		}
		return nil
	}
	for _, c := range []struct{ f, v string }{{"alert/identifier", a.Identifier}, {"alert/sender", a.Sender}, {"alert/sent", a.Sent},
		{"alert/status", a.Status}, {"alert/msgType", a.MsgType}, {"alert/scope", a.Scope}} {
		if err := req(c.f, c.v); err != nil {
			return err
		}
	}
	if strings.ContainsAny(a.Identifier, " ,<&") || strings.ContainsAny(a.Sender, " ,<&") {
		return errf("alert/identifier", "định danh và người gửi không được chứa dấu cách, dấu phẩy", "identifier and sender must not contain spaces, commas")
	}
	if err := date("alert/sent", a.Sent, false); err != nil {
		return err
	}
	if err := enum("alert/status", a.Status, statuses); err != nil {
		return err
	}
	if err := enum("alert/msgType", a.MsgType, msgTypes); err != nil {
		return err
	}
	if err := enum("alert/scope", a.Scope, scopes); err != nil {
		return err
	}
	if a.Scope == "Restricted" && a.Restriction == "" {
		return errf("alert/restriction", "phạm vi Restricted cần <restriction>", "scope Restricted needs <restriction>")
	}
	if a.Scope == "Private" && a.Addresses == "" {
		return errf("alert/addresses", "phạm vi Private cần <addresses>", "scope Private needs <addresses>")
	}
	if _, err := ParseReferences(a.References); err != nil {
		return errf("alert/references", "sai dạng (cần người-gửi,định-danh,thời-gian cách nhau bởi dấu cách): %v",
			"bad format (want sender,identifier,sent separated by spaces): %v", err)
	}
	if (a.MsgType == "Update" || a.MsgType == "Cancel") && strings.TrimSpace(a.References) == "" {
		return errf("alert/references", "bản tin %s phải dẫn chiếu bản tin trước", "a %s must reference the messages it concerns", a.MsgType)
	}
	for i := range a.Info {
		in := &a.Info[i]
		p := fmt.Sprintf("alert/info[%d]/", i+1)
		if len(in.Category) == 0 {
			return errf(p+"category", "thiếu (bắt buộc)", "missing (required)")
		}
		for _, c := range in.Category {
			if err := enum(p+"category", c, categories); err != nil {
				return err
			}
		}
		for _, r := range in.ResponseType {
			if err := enum(p+"responseType", r, responses); err != nil {
				return err
			}
		}
		if err := req(p+"event", in.Event); err != nil {
			return err
		}
		if err := enum(p+"urgency", in.Urgency, urgencies); err != nil {
			return err
		}
		if err := enum(p+"severity", in.Severity, severities); err != nil {
			return err
		}
		if err := enum(p+"certainty", in.Certainty, certs); err != nil {
			return err
		}
		for _, d := range []struct{ f, v string }{{"effective", in.Effective}, {"onset", in.Onset}, {"expires", in.Expires}} {
			if err := date(p+d.f, d.v, true); err != nil {
				return err
			}
		}
		for j, r := range in.Resource {
			rp := fmt.Sprintf("%sresource[%d]/", p, j+1)
			if err := req(rp+"resourceDesc", r.ResourceDesc); err != nil {
				return err
			}
			if err := req(rp+"mimeType", r.MimeType); err != nil {
				return err
			}
			if d := strings.TrimSpace(r.Digest); d != "" && !hexRE.MatchString(d) {
				return errf(rp+"digest", "cần SHA-1 (40) hoặc SHA-256 (64) chữ số hex", "want a SHA-1 (40) or SHA-256 (64) hex digest")
			}
		}
		for j, ar := range in.Area {
			ap := fmt.Sprintf("%sarea[%d]/", p, j+1)
			if err := req(ap+"areaDesc", ar.AreaDesc); err != nil {
				return err
			}
			for _, poly := range ar.Polygon {
				if _, err := ParsePolygon(poly); err != nil {
					return errf(ap+"polygon", "đa giác không đúng: %v", "bad polygon: %v", err)
				}
			}
			for _, c := range ar.Circle {
				if _, err := ParseCircle(c); err != nil {
					return errf(ap+"circle", "đường tròn không đúng: %v", "bad circle: %v", err)
				}
			}
		}
	}
	return nil
}

var hexRE = regexp.MustCompile(`^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$`)
