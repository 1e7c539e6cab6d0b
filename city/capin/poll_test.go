package capin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/cap"
	"loa/internal/testwait"
)

// loopbackFetcher fetches over real HTTP (what package city does).
type loopbackFetcher struct{}

func (loopbackFetcher) Fetch(ctx context.Context, url string, max int64) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, max))
}

// A feed that fails is polled again after a growing wait; once it answers,
// its entry (a link to the CAP document) is ingested once, however often
// the feed is polled afterwards.
func TestPollFeedOverHTTP(t *testing.T) {
	doc := unsigned("KTTV-7", "kttv@vn", "2026-09-15T08:00:00+07:00", "Alert", "", "Actual",
		"<geocode><valueName>loa-ward</valueName><value>phuong-2</value></geocode>")
	var mu sync.Mutex
	var hits []time.Time
	failures := 2
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("/feed.atom", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hits = append(hits, time.Now())
		if failures > 0 {
			failures--
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		feed, _ := cap.WriteFeed("urn:kttv", "KTTV", srv.URL+"/feed.atom", "kttv", time.Now(),
			[]cap.FeedEntry{{ID: "urn:kttv:7", Title: "Bão", Updated: time.Now(), Link: srv.URL + "/7.xml"}})
		// A link only: the reader fetches the CAP document.
		w.Write([]byte(stripContent(string(feed))))
	})
	mux.HandleFunc("/7.xml", func(w http.ResponseWriter, r *http.Request) { w.Write(doc) })

	r := newRig(t, cap.Policy{TrustedSenders: []string{"kttv@vn"}, AcceptUnsigned: true})
	r.now = time.Date(2026, 9, 15, 8, 1, 0, 0, time.FixedZone("", 7*3600))
	r.svc.fetch = loopbackFetcher{}
	r.svc.cfg.Feeds = []Feed{{URL: srv.URL + "/feed.atom", Every: 20 * time.Millisecond}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.svc.Poll(ctx); close(done) }()
	testwait.For(t, "the feed's alert sent", 10*time.Second, func() bool {
		r.al.mu.Lock()
		defer r.al.mu.Unlock()
		return len(r.al.sent) == 1
	})
	testwait.For(t, "two more polls", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(hits) >= 5
	})
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	// After the failures the waits grew: 20 ms, then 40 ms.
	if d1, d2 := hits[1].Sub(hits[0]), hits[2].Sub(hits[1]); d1 < 20*time.Millisecond || d2 < 40*time.Millisecond {
		t.Errorf("no backoff: %v then %v", d1, d2)
	}
	if len(r.al.sent) != 1 || r.al.sent[0].To != "phuong-2" || len(r.store.msgs) != 1 {
		t.Fatalf("sent %d, recorded %d", len(r.al.sent), len(r.store.msgs))
	}
}

// stripContent removes the inline CAP of each entry.
func stripContent(feed string) string {
	for {
		i := strings.Index(feed, "<content")
		if i < 0 {
			return feed
		}
		j := strings.Index(feed[i:], "</content>")
		feed = feed[:i] + feed[i+j+len("</content>"):]
	}
}

// An entry whose CAP document could not be fetched is tried again at the
// next poll, and ingested once it answers.
func TestPollRetriesAFailedLink(t *testing.T) {
	doc := unsigned("KTTV-8", "kttv@vn", "2026-09-15T08:00:00+07:00", "Alert", "", "Actual",
		"<geocode><valueName>loa-ward</valueName><value>phuong-2</value></geocode>")
	now := time.Date(2026, 9, 15, 8, 1, 0, 0, time.FixedZone("", 7*3600))
	feed, _ := cap.WriteFeed("urn:kttv", "KTTV", "http://kttv/feed.atom", "kttv", now,
		[]cap.FeedEntry{{ID: "urn:kttv:8", Title: "Bão", Updated: now, Link: "http://kttv/8.xml"}})
	ff := &fakeFetcher{docs: map[string][]byte{"http://kttv/feed.atom": []byte(stripContent(string(feed)))}}
	r := newRig(t, cap.Policy{TrustedSenders: []string{"kttv@vn"}, AcceptUnsigned: true})
	r.now, r.svc.fetch = now, ff
	p := &poller{}
	f := Feed{URL: "http://kttv/feed.atom"}
	if n, err := r.svc.PollOnce(context.Background(), f, p); n != 0 || err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("first poll: %d %v", n, err)
	}
	ff.docs["http://kttv/8.xml"] = doc
	if n, err := r.svc.PollOnce(context.Background(), f, p); n != 1 || err != nil || len(r.al.sent) != 1 {
		t.Fatalf("second poll: %d %v, %d sent", n, err, len(r.al.sent))
	}
	if n, _ := r.svc.PollOnce(context.Background(), f, p); n != 0 || len(r.al.sent) != 1 {
		t.Fatalf("third poll: %d, %d sent", n, len(r.al.sent))
	}
}
