package city

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"loa/alert"
	"loa/city/alerting"
	"loa/mediastore"
	"loa/sqlite"
)

// AlertsConfig configures alerts at the city.
type AlertsConfig struct {
	// Chime is the media item (name or sha256) played before an alert that
	// asks for one; empty: a built-in two-tone chime, made on first use.
	Chime string `yaml:"chime"`
	// Espeak is the espeak-ng program that speaks text alerts.
	Espeak string `yaml:"espeak"`
	// DefaultExpires is an alert's life when the operator gives none;
	// MaxExpires the longest allowed.
	DefaultExpires Duration `yaml:"default_expires"`
	MaxExpires     Duration `yaml:"max_expires"`
	// StreamCheck is how long the city waits for a stream URL to answer
	// before refusing the alert.
	StreamCheck Duration `yaml:"stream_check"`
	// Sender names the city in alerts' CAP sender (user@sender).
	Sender string `yaml:"sender"`
}

func defaultAlertsConfig() AlertsConfig {
	return AlertsConfig{Espeak: "espeak-ng", DefaultExpires: Duration(30 * time.Minute), MaxExpires: Duration(24 * time.Hour),
		StreamCheck: Duration(5 * time.Second), Sender: "loa-city"}
}

func (a *AlertsConfig) check(where string) error {
	switch {
	case a.DefaultExpires <= 0 || a.MaxExpires <= 0 || a.StreamCheck <= 0:
		return fmt.Errorf("%s: alerts durations must be positive", where)
	case time.Duration(a.MaxExpires) > alert.MaxLifetime:
		return fmt.Errorf("%s: alerts.max_expires: %s, at most %s", where, time.Duration(a.MaxExpires), alert.MaxLifetime)
	case a.DefaultExpires > a.MaxExpires:
		return fmt.Errorf("%s: alerts.default_expires is over alerts.max_expires", where)
	case a.Espeak == "":
		return fmt.Errorf("%s: alerts.espeak: empty", where)
	case a.Sender == "" || strings.ContainsAny(a.Sender, " ,&<>\t\n"):
		return fmt.Errorf("%s: alerts.sender: %q, want a word without spaces, commas or & < >", where, a.Sender)
	}
	return nil
}

// findMedia finds a library item by sha256 or name.
func (c *City) findMedia(ctx context.Context, ref string) (sqlite.CityMedia, error) {
	tx := c.DB.Read()
	key := ref
	if !mediastore.ValidKey(ref) {
		k, err := tx.MediaByName(ctx, ref)
		if errors.Is(err, sqlite.ErrNotFound) {
			return sqlite.CityMedia{}, badInput("media %q: not in the city's library (loactl media list)", ref)
		}
		if err != nil {
			return sqlite.CityMedia{}, err
		}
		key = k
	}
	m, err := tx.Media(ctx, key)
	if errors.Is(err, sqlite.ErrNotFound) {
		return m, badInput("media %s: not in the city's library (loactl media list)", key)
	}
	return m, err
}

// probeStream checks that a stream URL answers: a 2xx within
// alerts.stream_check, and its first bytes.
func (c *City) probeStream(ctx context.Context, u string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.Config.Alerts.StreamCheck))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "loa-city")
	req.Header.Set("Icy-MetaData", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("no answer within %s", time.Duration(c.Config.Alerts.StreamCheck))
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1)); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("no data within %s", time.Duration(c.Config.Alerts.StreamCheck))
		}
		return fmt.Errorf("no data: %v", err)
	}
	return nil
}

// speak renders text with espeak-ng and takes the result into the library
// like an upload (transcoded to the canonical MP3, checked, measured).
func (c *City) speak(ctx context.Context, id, text, voice string, speed int, by string) (sqlite.CityMedia, error) {
	return c.Library.Speak(ctx, id, text, voice, speed, by)
}

// alertChime returns the chime: alerts.chime, or the built-in one (two
// falling tones, 1.2 s), made with ffmpeg on first use.
func (c *City) alertChime(ctx context.Context) (sqlite.CityMedia, error) {
	if ref := c.Config.Alerts.Chime; ref != "" {
		m, err := c.findMedia(ctx, ref)
		if err != nil {
			return m, fmt.Errorf("alerts.chime: %w", err)
		}
		return m, nil
	}
	return c.Library.Chime(ctx)
}

// wardMayFetch reports whether ward may download media key: it is in the
// ward's manifest, or an alert for the ward that has not expired plays it.
func (c *City) wardMayFetch(ctx context.Context, ward, key string) (bool, error) {
	ok, err := c.DB.Read().WardMayFetch(ctx, ward, key)
	if ok || err != nil {
		return ok, err
	}
	return c.Alerting.MayFetchMedia(ctx, ward, key)
}

// AlertProblems says why alerts cannot be stored or published now (none:
// they can). Each problem is Vietnamese first, English beside it.
func (c *City) AlertProblems() []string { return c.Alerting.Problems() }

// Errors of alert requests (city/alerting), beside BadInputError.
var (
	ErrAlertConflict     = alerting.ErrAlertConflict
	ErrAlertNotFound     = alerting.ErrAlertNotFound
	ErrAlertNotPublished = alerting.ErrAlertNotPublished
	ErrNoNATS            = alerting.ErrNoNATS
)

// newAlerting builds the alerting service over the city's database,
// library, key and clock.
func (c *City) newAlerting() *alerting.Service {
	rule, training, prefix := c.Config.AlertRules.service()
	return alerting.New(alerting.Options{
		Config: alerting.Config{Sender: c.Config.Alerts.Sender, DefaultExpires: time.Duration(c.Config.Alerts.DefaultExpires),
			MaxExpires: time.Duration(c.Config.Alerts.MaxExpires), Approval: rule, Training: training, TestPrefix: prefix},
		Store: alertStore{c.DB}, Media: alertMedia{c}, Streams: alertMedia{c}, ReceiptKeys: c.Accounts,
		Requests: alertRequests{c.DB}, Repeats: alertRepeats{c.DB}, Audit: func(ctx context.Context, actor, action, target, detail string) {
			c.Audit.Record(ctx, actor, action, target, detail)
		},
		Key: c.key, Now: func() time.Time { return c.Now() }, Location: c.loc, Log: c.Log,
	})
}

// alertMedia is the library and the stream check as alerting uses them.
type alertMedia struct{ c *City }

func (m alertMedia) Find(ctx context.Context, ref string) (sqlite.CityMedia, error) {
	return m.c.findMedia(ctx, ref)
}

func (m alertMedia) Speak(ctx context.Context, id, text, voice string, speed int, by string) (sqlite.CityMedia, error) {
	return m.c.speak(ctx, id, text, voice, speed, by)
}

func (m alertMedia) Chime(ctx context.Context) (sqlite.CityMedia, error) { return m.c.alertChime(ctx) }

func (m alertMedia) ProbeStream(ctx context.Context, u string) error { return m.c.probeStream(ctx, u) }

// alertStore is the city's database as alerting uses it.
type alertStore struct{ db *sqlite.CityDB }

func (s alertStore) Alert(ctx context.Context, id string) (sqlite.CityAlert, error) {
	return s.db.Read().Alert(ctx, id)
}

func (s alertStore) Alerts(ctx context.Context, limit int) ([]sqlite.CityAlert, error) {
	return s.db.Read().Alerts(ctx, limit)
}

func (s alertStore) AlertWards(ctx context.Context, id string) ([]string, error) {
	return s.db.Read().AlertWards(ctx, id)
}

func (s alertStore) AlertReports(ctx context.Context, id string) ([]sqlite.AlertReport, error) {
	return s.db.Read().AlertReports(ctx, id)
}

func (s alertStore) AddAlert(ctx context.Context, a sqlite.CityAlert, stops []string) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error {
		if err := tx.AddAlert(ctx, a); err != nil {
			return err
		}
		for _, id := range stops {
			if err := tx.SetAlertCancelled(ctx, id, a.ID); err != nil {
				return fmt.Errorf("%w: alert %s was stopped meanwhile", ErrAlertConflict, id)
			}
		}
		return nil
	})
}

func (s alertStore) PendingCopies(ctx context.Context, now time.Time) ([]sqlite.AlertCopy, error) {
	return s.db.Read().PendingCopies(ctx, now)
}

func (s alertStore) MarkPublished(ctx context.Context, copies []alerting.Published, at time.Time) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error {
		for _, p := range copies {
			if err := tx.MarkCopyPublished(ctx, p.Alert, p.Subject, at, p.Seq); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s alertStore) MayFetchAlertMedia(ctx context.Context, ward, sha string, now time.Time) (bool, error) {
	return s.db.Read().WardMayFetchAlertMedia(ctx, ward, sha, now)
}

func (s alertStore) AddReports(ctx context.Context, reps []sqlite.AlertReport) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error {
		for _, r := range reps {
			if err := tx.AddAlertReport(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s alertStore) LastReportSeq(ctx context.Context) (uint64, error) {
	return s.db.Read().LastReportSeq(ctx)
}

func (s alertStore) WardIDs(ctx context.Context) ([]string, error) { return s.db.Read().WardIDs(ctx) }

func (s alertStore) Ward(ctx context.Context, id string) error {
	_, err := s.db.Read().Ward(ctx, id)
	return err
}

func (s alertStore) WardsInGroup(ctx context.Context, g string) ([]string, error) {
	ws, err := s.db.Read().WardsInGroup(ctx, g)
	ids := make([]string, len(ws))
	for i, w := range ws {
		ids[i] = w.ID
	}
	return ids, err
}
