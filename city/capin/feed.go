package capin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"loa/alert"
	"loa/cap"
	"loa/city/alerting"
	"loa/sqlite"
)

// The city's own alerts as CAP.

// feedSize is how many alerts the feed carries, newest first.
const feedSize = 50

// CAPAlert is the city's alert id as a CAP 1.2 document. Only Actual
// alerts are published.
func (s *Service) CAPAlert(ctx context.Context, id string) ([]byte, error) {
	row, err := s.store.Alert(ctx, id)
	if err != nil {
		return nil, err
	}
	if row.Status != string(alert.StatusActual) {
		return nil, fmt.Errorf("alert %s is %s, not published: %w", id, row.Status, sqlite.ErrNotFound)
	}
	c, err := s.toCAP(ctx, row)
	if err != nil {
		return nil, err
	}
	return c.Marshal()
}

func (s *Service) toCAP(ctx context.Context, row sqlite.CityAlert) (*cap.Alert, error) {
	a, err := alert.Decode(row.Payload)
	if err != nil {
		return nil, fmt.Errorf("alert %s: %w", row.ID, err)
	}
	var refs []cap.Reference
	for _, r := range a.References {
		old, err := s.store.Alert(ctx, r)
		if err != nil {
			continue
		}
		refs = append(refs, cap.Reference{Sender: capSender(old), Identifier: old.ID, Sent: cap.FormatTime(old.Issued.In(s.loc))})
	}
	c := cap.FromLoa(a, refs, s.loc)
	return c, nil
}

func capSender(row sqlite.CityAlert) string {
	if a, err := alert.Decode(row.Payload); err == nil {
		return a.Sender
	}
	return row.SentBy
}

// Feed is the city's Actual alerts, newest first, as an Atom feed of CAP.
func (s *Service) Feed(ctx context.Context) ([]byte, error) {
	rows, err := s.store.Alerts(ctx, 4*feedSize)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(s.cfg.BaseURL, "/")
	var entries []cap.FeedEntry
	updated := time.Unix(0, 0)
	for _, row := range rows {
		if row.Status != string(alert.StatusActual) || len(entries) == feedSize {
			continue
		}
		full, err := s.store.Alert(ctx, row.ID) // with its payload
		if err != nil {
			return nil, err
		}
		c, err := s.toCAP(ctx, full)
		if err != nil {
			return nil, err
		}
		doc, err := c.Marshal()
		if err != nil {
			return nil, err
		}
		title := full.Headline
		if title == "" {
			title = string(full.MsgType) + " " + full.ID
		}
		entries = append(entries, cap.FeedEntry{ID: "urn:loa:alert:" + full.ID, Title: title, Updated: full.Issued,
			Link: base + "/cap/alerts/" + full.ID + ".xml", CAP: doc})
		if full.Issued.After(updated) {
			updated = full.Issued
		}
	}
	if len(entries) == 0 {
		updated = s.now()
	}
	return cap.WriteFeed("urn:loa:"+s.cfg.Sender+":alerts", "Cảnh báo / Alerts — "+s.cfg.Sender, base+"/cap/alerts.atom", s.cfg.Sender, updated, entries)
}

// Polling configured feeds.

// Feed is a feed the city polls: Atom or RSS of CAP, or a URL that
// returns one CAP message.
type Feed struct {
	URL string
	// Every is the interval between polls (default 60 s); after a failure
	// the wait doubles, up to 10 times Every.
	Every time.Duration
}

// poller remembers what a feed returned, so that an entry is ingested once.
type poller struct {
	mu   sync.Mutex
	seen map[string]bool
}

// PollOnce fetches feed f once and ingests every entry not seen before.
// It returns how many messages it ingested.
func (s *Service) PollOnce(ctx context.Context, f Feed, p *poller) (int, error) {
	body, err := s.fetch.Fetch(ctx, f.URL, cap.MaxFeed)
	if err != nil {
		return 0, err
	}
	items, err := cap.ReadFeed(body)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, it := range items {
		doc := it.CAP
		if doc == nil && it.Link != "" {
			if p.has("link:" + it.Link) {
				continue
			}
			doc, err = s.fetch.Fetch(ctx, it.Link, cap.MaxMessage)
			if err != nil {
				errs = append(errs, err) // tried again at the next poll
				continue
			}
		}
		if doc == nil {
			continue
		}
		sum := sha256.Sum256(doc)
		key := hex.EncodeToString(sum[:])
		if p.has(key) {
			continue
		}
		if _, err := s.Ingest(ctx, doc, "feed:"+f.URL, "cap-feed"); err != nil && !errors.Is(err, alerting.ErrAlertNotPublished) {
			errs = append(errs, err) // the city's own failure: tried again
			continue
		}
		p.mark(key)
		if it.Link != "" {
			p.mark("link:" + it.Link)
		}
		n++
	}
	return n, errors.Join(errs...)
}

// maxSeen bounds what a poller remembers (a feed polled for months).
const maxSeen = 20000

// has reports whether key was seen.
func (p *poller) has(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[key]
}

// mark remembers key.
func (p *poller) mark(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil || len(p.seen) > maxSeen {
		// Forgetting is safe: a message acted on is a duplicate in the
		// record (nothing done again); a refused one is refused again.
		p.seen = map[string]bool{}
	}
	p.seen[key] = true
}

// Poll polls every configured feed until ctx ends, each on its own
// interval, backing off after failures.
func (s *Service) Poll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, f := range s.cfg.Feeds {
		if f.Every <= 0 {
			f.Every = time.Minute
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &poller{}
			wait := time.Duration(0)
			for {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				fctx, cancel := context.WithTimeout(ctx, s.cfg.FetchTimeout)
				n, err := s.PollOnce(fctx, f, p)
				cancel()
				wait = Backoff(f.Every, wait, err != nil)
				if err != nil {
					s.log.Warn("CAP feed poll failed", "feed", f.URL, "err", err, "next_in", wait)
				} else if n > 0 {
					s.log.Info("CAP feed polled", "feed", f.URL, "messages", n)
				}
			}
		}()
	}
	wg.Wait()
}

// Backoff is the wait before the next poll: every after a success; after
// a failure, double the last wait (at least every), at most 10 × every.
func Backoff(every, last time.Duration, failed bool) time.Duration {
	if !failed {
		return every
	}
	next := max(2*last, every)
	return min(next, 10*every)
}
