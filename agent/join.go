package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"loa/alert"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"loa/city/api"
	"loa/internal/atomicfile"
	"loa/signing"
)

// `loa-agent join` provisions a station with a one-time code from the city
// (`loa-city ward add` / `ward code`): it fetches the ward's id, token and
// the city's public key, writes them into the configuration, and starts
// the service.
//
// Trust: over HTTPS the city is who the certificate says. Over plain HTTP
// anyone on the path could pose as the city, so the technician compares the
// key's fingerprint with the one the city printed (or passes it with
// --fingerprint) before the code is sent. The answer is signed with that
// key, so once the fingerprint is right, what is written is the city's.
//
// The code is good once: everything that can fail locally (a config file
// that cannot be written or does not parse) is checked before it is sent.

const joinUsage = `join --city URL --code CODE [--config FILE] [--yes | --fingerprint FP] [--no-start]`

// joinCredentials is the signed payload of the city's join answer
// (city.JoinCredentials). Unknown fields are ignored: the city adds fields
// (NATS credentials) without breaking older agents.
type joinCredentials struct {
	Format    int      `json:"format"`
	Ward      string   `json:"ward"`
	Groups    []string `json:"groups"`
	Token     string   `json:"token"`
	PublicKey string   `json:"public_key"`
	KeyID     string   `json:"key_id"`
	NATS      string   `json:"nats"`
	NATSKey   string   `json:"nats_key"`
	// TLSPin is the city's certificate key pin (city.tls_pin), when it
	// serves TLS itself; NATSTLSPin the NATS servers' (city.nats_tls_pin).
	TLSPin     string `json:"tls_pin"`
	NATSTLSPin string `json:"nats_tls_pin"`
}

// joiner is one run of `loa-agent join`; its fields are the surroundings a
// test replaces.
type joiner struct {
	cityURL     string
	code        string
	config      string
	yes         bool
	fingerprint string
	noStart     bool

	stdin          io.Reader
	stdout, stderr io.Writer
	http           *http.Client
	// systemdBooted reports whether systemd runs this machine.
	systemdBooted func() bool
	// systemctl runs systemctl with args.
	systemctl func(ctx context.Context, args ...string) error
	// loaGroup is the group the packaged daemon runs in.
	loaGroup string
	// serviceConfig is the file the loa-agent service reads.
	serviceConfig string
	// tlsSeen is the city's certificate as this join saw it (https).
	tlsSeen *joinTLS
}

func (c *CLI) join(ctx context.Context, args []string) error {
	fs := c.flags("join", joinUsage)
	j := &joiner{stdin: os.Stdin, stdout: c.Stdout, stderr: c.Stderr, systemdBooted: systemdBooted, systemctl: runSystemctl,
		loaGroup: "loa", serviceConfig: DefaultConfigPath}
	fs.StringVar(&j.cityURL, "city", "", "the city's address `URL`, e.g. https://loa.example.gov.vn (required)")
	fs.StringVar(&j.code, "code", "", "the join `CODE` printed by loa-city ward add or loa-city ward code (required)")
	fs.StringVar(&j.config, "config", "", "configuration file to write (default "+DefaultConfigPath+")")
	fs.BoolVar(&j.yes, "yes", false, "over plain HTTP, accept the city's key without asking (not recommended)")
	fs.StringVar(&j.fingerprint, "fingerprint", "", "the city's key fingerprint `FP` (loa-city key shows it): checked instead of asking")
	fs.BoolVar(&j.noStart, "no-start", false, "write the configuration only; do not enable or start the service")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed for each request to the city")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("join: unexpected argument " + pos[0])
	}
	if j.config == "" {
		j.config = c.Getenv("LOA_AGENT_CONFIG")
	}
	if j.config == "" {
		j.config = DefaultConfigPath
	}
	j.http = &http.Client{Timeout: *timeout}
	return j.run(ctx)
}

func (j *joiner) run(ctx context.Context) error {
	base, err := j.checkURL()
	if err != nil {
		return err
	}
	if base.Scheme == "https" {
		j.observeTLS()
	}
	code, err := checkJoinCode(j.code)
	if err != nil {
		return err
	}
	// Everything local first: the code is spent once the city answers.
	doc, old, err := readConfigNode(j.config)
	if err != nil {
		return err
	}
	tmp, err := atomicfile.Create(j.config, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write the configuration next to %s (run as root: sudo loa-agent join ...): %w", j.config, err)
	}
	defer tmp.Abort() // nothing once committed

	pub, err := j.cityKey(ctx, base)
	if err != nil {
		return err
	}
	if err := j.trust(base, pub); err != nil {
		return err
	}
	cr, err := j.redeem(ctx, base, code, pub)
	if err != nil {
		return err
	}
	pin, err := j.pinJoin(cr)
	if err != nil {
		return err
	}

	if old.Ward != "" && old.Ward != cr.Ward {
		fmt.Fprintf(j.stdout, "Chú ý / note: this station was ward %s; it is now ward %s.\n", old.Ward, cr.Ward)
	}
	setScalar(doc, cr.Ward, "ward")
	setScalar(doc, base.String(), "city", "url")
	setScalar(doc, cr.Token, "city", "token")
	setScalar(doc, cr.PublicKey, "city", "public_key")
	if cr.NATS != "" && cr.NATSKey != "" {
		setScalar(doc, cr.NATS, "city", "nats")
		setScalar(doc, cr.NATSKey, "city", "nats_key")
		if cr.NATSTLSPin != "" {
			setScalar(doc, cr.NATSTLSPin, "city", "nats_tls_pin")
		}
	}
	if pin != "" {
		setScalar(doc, pin, "city", "tls_pin")
		fmt.Fprintf(j.stdout, "Chứng chỉ của thành phố được ghim / city certificate pinned: %s\n", pin)
	}
	if err := j.writeConfig(tmp, doc); err != nil {
		return fmt.Errorf("joined as ward %s, but the configuration was not written: %w\n"+
			"ask the city for a new code (loa-city ward code %s) once this is fixed", cr.Ward, err, cr.Ward)
	}
	groups := strings.Join(cr.Groups, ", ")
	if groups == "" {
		groups = "-"
	}
	fmt.Fprintf(j.stdout, "Đã kết nối / joined: ward %s (groups: %s), city %s, key %s.\nConfiguration written to %s.\n",
		cr.Ward, groups, base, signing.KeyID(pub), j.config)
	return j.start(ctx)
}

func (j *joiner) checkURL() (*url.URL, error) {
	if j.cityURL == "" {
		return nil, usageErr("join: --city URL is required (the city's address, e.g. https://loa.example.gov.vn)")
	}
	if j.code == "" {
		return nil, usageErr("join: --code CODE is required (printed by `loa-city ward add` at the city)")
	}
	u, err := url.Parse(strings.TrimSpace(j.cityURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, usageErr(fmt.Sprintf("join: --city %q: want an address like https://loa.example.gov.vn or http://10.0.0.5:8780", j.cityURL))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// checkJoinCode catches typing mistakes before the code is sent; the city
// reads O as 0 and I, L as 1.
func checkJoinCode(s string) (string, error) {
	n := 0
	for _, r := range s {
		switch {
		case r == '-' || r == ' ':
		case r < 128 && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			n++
		default:
			return "", usageErr(fmt.Sprintf("join: --code %q: %q is not a letter or digit", s, r))
		}
	}
	if n != 10 {
		return "", usageErr(fmt.Sprintf("join: --code %q: a join code has 10 letters and digits, like 7KQMX-2HD9P", s))
	}
	return strings.TrimSpace(s), nil
}

func (j *joiner) endpoint(base *url.URL, path string) string {
	u := *base
	u.Path += path
	return u.String()
}

// cityKey fetches the city's public key.
func (j *joiner) cityKey(ctx context.Context, base *url.URL) (ed25519.PublicKey, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", j.endpoint(base, "/api/v1/key"), nil)
	resp, err := j.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the city at %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %s: is this a loa city? %s", req.URL, resp.Status, apiError(body))
	}
	var k api.Key
	if err := json.Unmarshal(body, &k); err != nil {
		return nil, fmt.Errorf("%s: not a loa city's answer: %v", req.URL, err)
	}
	pub, err := signing.ParsePublicKey(k.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.URL, err)
	}
	if signing.KeyID(pub) != k.KeyID {
		return nil, fmt.Errorf("%s: the key's fingerprint is %s, the city says %s", req.URL, signing.KeyID(pub), k.KeyID)
	}
	return pub, nil
}

// normFingerprint reads a fingerprint as typed: any case, with ':' or
// spaces between the pairs.
func normFingerprint(s string) string {
	return strings.ToLower(strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(s)))
}

// trust decides whether pub is the city's key.
func (j *joiner) trust(base *url.URL, pub ed25519.PublicKey) error {
	id := signing.KeyID(pub)
	if j.fingerprint != "" {
		if normFingerprint(j.fingerprint) != id {
			return fmt.Errorf("the city at %s has key %s, not %s as given: refusing to join (the address may be wrong, "+
				"or someone is between this station and the city); nothing was changed", base, id, normFingerprint(j.fingerprint))
		}
		fmt.Fprintf(j.stdout, "Khóa của thành phố / city key %s: matches --fingerprint.\n", id)
		return nil
	}
	if base.Scheme == "https" && j.httpsVerified() {
		fmt.Fprintf(j.stdout, "Khóa của thành phố / city key %s (over HTTPS).\n", id)
		return nil
	}
	if base.Scheme == "https" {
		_, _, verr := j.tlsSeen.get()
		fmt.Fprintf(j.stdout, "The certificate of %s is not vouched for by a known authority (%v): it will be pinned once the key is confirmed.\n", base, verr)
	} else {
		fmt.Fprintf(j.stdout, "The connection to %s is not encrypted (http).\n", base)
	}
	fmt.Fprintf(j.stdout, "Dấu vân tay khóa / city key fingerprint: %s\n", id)
	fmt.Fprintf(j.stdout, "Compare it with what `loa-city key` (or `loa-city ward add`) printed at the city.\n")
	if j.yes {
		fmt.Fprintln(j.stdout, "--yes: accepted without checking.")
		return nil
	}
	fmt.Fprint(j.stdout, "Is it the same? Type yes / có to continue: ")
	line, err := bufio.NewReader(j.stdin).ReadString('\n')
	if err != nil && line == "" {
		return errors.New("no answer (pass --fingerprint FP or --yes when there is no terminal); nothing was changed")
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "yes", "y", "có", "co", "c":
		return nil
	}
	return errors.New("not confirmed: nothing was changed")
}

// redeem sends the code and returns the verified credentials.
func (j *joiner) redeem(ctx context.Context, base *url.URL, code string, pub ed25519.PublicKey) (joinCredentials, error) {
	var cr joinCredentials
	host, _ := os.Hostname()
	body, _ := json.Marshal(map[string]string{"code": code, "hostname": host, "agent_version": Version})
	req, _ := http.NewRequestWithContext(ctx, "POST", j.endpoint(base, "/api/v1/join"), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := j.http.Do(req)
	if err != nil {
		return cr, fmt.Errorf("cannot reach the city at %s: %w", base, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusTooManyRequests:
		return cr, fmt.Errorf("the city refused: %s (HTTP %d)", apiError(b), resp.StatusCode)
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return cr, inputErr(fmt.Errorf("the city refused the join code: %s (HTTP %d)", apiError(b), resp.StatusCode))
	default:
		return cr, fmt.Errorf("the city answered HTTP %s: %s", resp.Status, apiError(b))
	}
	var env signing.Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return cr, fmt.Errorf("the city's answer is not a signed message: %v", err)
	}
	payload, err := signing.Verify(env, pub)
	if err != nil {
		return cr, fmt.Errorf("the city's answer is not signed by key %s: %w", signing.KeyID(pub), err)
	}
	if err := json.Unmarshal(payload, &cr); err != nil {
		return cr, fmt.Errorf("the city's answer: %v", err)
	}
	if cr.Format < 1 || !validWardID(cr.Ward) || !strings.HasPrefix(cr.Token, "loaw_") || cr.PublicKey != signing.PublicKeyText(pub) {
		return cr, fmt.Errorf("the city's answer is incomplete or inconsistent (format %d, ward %q)", cr.Format, cr.Ward)
	}
	return cr, nil
}

func validWardID(s string) bool { return alert.ValidName(s) }

// apiError is the message of a loa error body, else the body itself.
func apiError(b []byte) string {
	var e api.Error
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// readConfigNode reads the configuration as a YAML tree (so that its
// comments survive) and as a Config (so that a broken file is reported now,
// before the code is spent). A missing file is an empty one.
func readConfigNode(path string) (*yaml.Node, Config, error) {
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return doc, DefaultConfig(), nil
	}
	if err != nil {
		return nil, Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := LoadConfig(path, true)
	if err != nil {
		return nil, cfg, inputErr(fmt.Errorf("%w\nfix the file (or move it away) and join again; the code was not used", err))
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, cfg, inputErr(fmt.Errorf("config %s: %v", path, err))
	}
	switch {
	case n.Kind == 0 || len(n.Content) == 0:
		// Only comments: keep them above the new keys.
		doc.HeadComment = n.HeadComment
		if doc.HeadComment == "" {
			doc.HeadComment = strings.TrimRight(string(data), "\n")
		}
	case n.Content[0].Kind == yaml.MappingNode:
		doc = &n
	default:
		return nil, cfg, inputErr(fmt.Errorf("config %s: the file is not a YAML mapping (key: value lines)", path))
	}
	return doc, cfg, nil
}

// setScalar sets the string at a path of keys, adding what is missing and
// keeping the comments of what is there.
func setScalar(doc *yaml.Node, value string, path ...string) {
	m := doc.Content[0]
	for i, key := range path {
		var v *yaml.Node
		for k := 0; k+1 < len(m.Content); k += 2 {
			if m.Content[k].Value == key {
				v = m.Content[k+1]
			}
		}
		if v == nil {
			v = &yaml.Node{}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
		}
		if i == len(path)-1 {
			v.Kind, v.Tag, v.Value, v.Style, v.Content = yaml.ScalarNode, "!!str", value, 0, nil
			return
		}
		if v.Kind != yaml.MappingNode {
			v.Kind, v.Tag, v.Value, v.Style, v.Content = yaml.MappingNode, "!!map", "", 0, nil
		}
		m = v
	}
}

// writeConfig writes doc through tmp and commits it over the configuration
// (atomicfile): the file is the old one or the new one, never half of each,
// even across a power cut. It keeps an existing file's mode and owner; a new file is 0640
// root:loa when the packaged daemon's group exists (the daemon runs as loa
// and must read it), else 0600.
func (j *joiner) writeConfig(tmp *atomicfile.File, doc *yaml.Node) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	enc.Close()
	mode, uid, gid := os.FileMode(0o600), -1, -1
	if st, err := os.Stat(j.config); err == nil {
		mode = st.Mode().Perm()
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(sys.Uid), int(sys.Gid)
		}
	} else if g, err := user.LookupGroup(j.loaGroup); err == nil && os.Geteuid() == 0 {
		mode, uid = 0o640, 0
		gid, _ = strconv.Atoi(g.Gid)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if uid >= 0 && os.Geteuid() == 0 {
		if err := tmp.Chown(uid, gid); err != nil {
			return err
		}
	}
	if _, err := LoadConfig(tmp.Name(), true); err != nil {
		return fmt.Errorf("the new configuration does not load: %w", err)
	}
	return tmp.Commit()
}

// start enables and (re)starts the service, when that is what runs this
// configuration; otherwise it says what to do.
func (j *joiner) start(ctx context.Context) error {
	run := fmt.Sprintf("loa-agent run --config %s", j.config)
	switch {
	case j.noStart:
		fmt.Fprintln(j.stdout, "--no-start: start the station with `sudo systemctl enable --now loa-agent` (or `"+run+"`).")
		return nil
	case !j.systemdBooted():
		fmt.Fprintln(j.stdout, "systemd is not running here: start the station with `"+run+"`.")
		return nil
	case j.config != j.serviceConfig:
		fmt.Fprintf(j.stdout, "The loa-agent service reads %s, not %s: start this station with `%s`.\n", j.serviceConfig, j.config, run)
		return nil
	case os.Geteuid() != 0:
		fmt.Fprintln(j.stdout, "Not root: start the station with `sudo systemctl enable loa-agent && sudo systemctl restart loa-agent`.")
		return nil
	}
	// restart, not enable --now: a running agent must read the new file.
	for _, args := range [][]string{{"enable", "loa-agent.service"}, {"restart", "loa-agent.service"}} {
		if err := j.systemctl(ctx, args...); err != nil {
			return fmt.Errorf("joined, but `systemctl %s` failed: %w\nsee `journalctl -u loa-agent`", strings.Join(args, " "), err)
		}
	}
	fmt.Fprintln(j.stdout, "Dịch vụ đã bật / the loa-agent service is enabled and running: check it with `loa-agent status`.")
	return nil
}

// systemdBooted is sd_booted(3): systemd is the init system.
func systemdBooted() bool {
	st, err := os.Stat("/run/systemd/system")
	return err == nil && st.IsDir()
}

func runSystemctl(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "systemctl", args...).CombinedOutput()
	if err != nil && len(out) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return err
}
