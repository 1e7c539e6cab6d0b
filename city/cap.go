package city

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"loa/alert"
	"loa/cap"
	"loa/city/capin"
	"loa/city/library"
	"loa/sqlite"
)

// CAPConfig is the cap: section of loa-city.yaml (docs/cap.md).
type CAPConfig struct {
	// TrustedSenders are CAP sender ids (alert/sender) whose alerts play.
	TrustedSenders []string `yaml:"trusted_senders"`
	// TrustedCerts are SHA-256 fingerprints (64 hex digits) of signing
	// certificates whose alerts play; when set, a signed message must be
	// signed by one of them.
	TrustedCerts []string `yaml:"trusted_certs"`
	// AcceptUnsigned takes unsigned messages from trusted senders
	// (default false).
	AcceptUnsigned bool `yaml:"accept_unsigned"`
	// PlayTest, PlayExercise put status Test / Exercise on air (default
	// false); Actual always plays, System and Draft never.
	PlayTest     bool `yaml:"play_test"`
	PlayExercise bool `yaml:"play_exercise"`
	// Areas map geocodes and area names to wards and groups.
	Areas []CAPArea `yaml:"areas"`
	// Feeds are polled for CAP messages.
	Feeds []CAPFeed `yaml:"feeds"`
	// PublicFeed serves GET /cap/alerts.atom and /cap/alerts/ID.xml
	// without a token (default false).
	PublicFeed bool `yaml:"public_feed"`
	// BaseURL is the city's public address, for the feed's links.
	BaseURL string `yaml:"base_url"`
	// MaxAudioMB bounds an audio resource (default 16); FetchTimeout
	// bounds fetching one or a feed (default 30s).
	MaxAudioMB   int64    `yaml:"max_audio_mb"`
	FetchTimeout Duration `yaml:"fetch_timeout"`
}

// CAPArea maps a CAP area to loa targets: Geocode is VALUENAME=VALUE
// (SAME=006109, or the province's own code), or AreaDesc an area's name
// exactly (case-insensitive); To is all, ward ids and group:NAME.
type CAPArea struct {
	Geocode  string `yaml:"geocode"`
	AreaDesc string `yaml:"area_desc"`
	To       string `yaml:"to"`
}

// CAPFeed is a feed the city polls.
type CAPFeed struct {
	URL   string   `yaml:"url"`
	Every Duration `yaml:"every"`
}

func defaultCAPConfig() CAPConfig {
	return CAPConfig{MaxAudioMB: 16, FetchTimeout: Duration(30 * time.Second)}
}

var fingerprintRE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

func (c *CAPConfig) check(where string) error {
	for _, f := range c.TrustedCerts {
		if !fingerprintRE.MatchString(f) {
			return fmt.Errorf("%s: cap.trusted_certs: %q: want the certificate's SHA-256, 64 hex digits", where, f)
		}
	}
	for i, a := range c.Areas {
		if (a.Geocode == "") == (a.AreaDesc == "") {
			return fmt.Errorf("%s: cap.areas[%d]: give geocode (NAME=VALUE) or area_desc, one of them", where, i)
		}
		if a.Geocode != "" && !strings.Contains(a.Geocode, "=") {
			return fmt.Errorf("%s: cap.areas[%d].geocode: %q, want VALUENAME=VALUE", where, i, a.Geocode)
		}
		if _, err := alert.ParseTargets(a.To); err != nil {
			return fmt.Errorf("%s: cap.areas[%d].to: %v", where, i, err)
		}
	}
	for i, f := range c.Feeds {
		if !strings.HasPrefix(f.URL, "http://") && !strings.HasPrefix(f.URL, "https://") {
			return fmt.Errorf("%s: cap.feeds[%d].url: %q, want http:// or https://", where, i, f.URL)
		}
		if f.Every < 0 || f.Every > 0 && time.Duration(f.Every) < 10*time.Second {
			return fmt.Errorf("%s: cap.feeds[%d].every: at least 10s", where, i)
		}
	}
	if c.MaxAudioMB < 1 || c.FetchTimeout <= 0 {
		return fmt.Errorf("%s: cap.max_audio_mb and cap.fetch_timeout must be positive", where)
	}
	return nil
}

// newCAP builds the CAP service over the alerting service (the same entry
// point as POST /api/v1/alerts), the library and the database.
func (c *City) newCAP() *capin.Service {
	cc := c.Config.CAP
	cfg := capin.Config{
		Policy: cap.Policy{TrustedSenders: cc.TrustedSenders, TrustedCerts: lower(cc.TrustedCerts), AcceptUnsigned: cc.AcceptUnsigned,
			PlayTest: cc.PlayTest, PlayExercise: cc.PlayExercise},
		MaxAudio: cc.MaxAudioMB << 20, FetchTimeout: time.Duration(cc.FetchTimeout), MaxExpires: time.Duration(c.Config.Alerts.MaxExpires),
		PublicFeed: cc.PublicFeed, Sender: c.Config.Alerts.Sender, BaseURL: cc.BaseURL,
	}
	for _, a := range cc.Areas {
		r := cap.Rule{AreaDesc: a.AreaDesc, To: a.To}
		r.ValueName, r.Value, _ = strings.Cut(a.Geocode, "=")
		cfg.Rules = append(cfg.Rules, r)
	}
	for _, f := range cc.Feeds {
		cfg.Feeds = append(cfg.Feeds, capin.Feed{URL: f.URL, Every: time.Duration(f.Every)})
	}
	return capin.New(capin.Options{Config: cfg, Alerting: c.Alerting, Library: capLibrary{c}, Store: capStore{alertStore{c.DB}},
		Fetcher: httpFetcher{client: &http.Client{}}, Now: func() time.Time { return c.Now() }, Location: c.loc, Log: c.Log})
}

func lower(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(s)
	}
	return out
}

// startCAPPolling polls the configured feeds until ctx ends.
func (c *City) startCAPPolling(ctx context.Context) (stop func()) {
	if len(c.Config.CAP.Feeds) == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.CAP.Poll(ctx)
	}()
	return func() { cancel(); <-done }
}

// capLibrary adds a CAP message's audio to the library: transcoded and
// measured like any upload, named cap-IDENTIFIER.mp3.
type capLibrary struct{ c *City }

func (l capLibrary) AddAudio(ctx context.Context, name string, data []byte, by string) (string, error) {
	m, _, err := l.c.Library.Ingest(ctx, bytes.NewReader(data), library.UploadInfo{Name: name, Title: name, By: by, Replace: true})
	if err != nil {
		return "", err
	}
	return m.SHA256, nil
}

// capStore is the city's database as the CAP service uses it.
type capStore struct{ alertStore }

func (s capStore) AddCAPMessage(ctx context.Context, m sqlite.CAPMessage) (int64, error) {
	var seq int64
	err := s.db.Update(ctx, func(tx sqlite.CityTx) error {
		var err error
		seq, err = tx.AddCAPMessage(ctx, m)
		return err
	})
	return seq, err
}

func (s capStore) CAPMessages(ctx context.Context, limit int) ([]sqlite.CAPMessage, error) {
	return s.db.Read().CAPMessages(ctx, limit)
}

func (s capStore) CAPMessageFor(ctx context.Context, sender, id string) (sqlite.CAPMessage, error) {
	return s.db.Read().CAPMessageFor(ctx, sender, id)
}

func (s capStore) WardPlaces(ctx context.Context) ([]cap.WardPlace, error) {
	ws, err := s.db.Read().Wards(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]cap.WardPlace, len(ws))
	for i, w := range ws {
		out[i] = cap.WardPlace{ID: w.ID, Lat: w.Lat, Lon: w.Lon}
	}
	return out, nil
}

// httpFetcher fetches over HTTP(S): a 2xx, at most max bytes.
type httpFetcher struct{ client *http.Client }

// Fetch gets url's body.
func (f httpFetcher) Fetch(ctx context.Context, url string, max int64) ([]byte, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("%q: only http and https URLs are fetched", url)
	}
	c := f.client
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if resp.ContentLength > max {
		return nil, fmt.Errorf("GET %s: %d bytes, at most %d", url, resp.ContentLength, max)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("GET %s: over %d bytes", url, max)
	}
	return b, nil
}
