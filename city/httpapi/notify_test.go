package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"loa/city/notify"
)

// memNotify is the users' subscriptions in memory, checked by the real
// notify.Settings.
type memNotify struct {
	mu sync.Mutex
	m  map[string]notify.Subscription
}

func (s *memNotify) Subscription(_ context.Context, user string) (notify.Subscription, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.m[user]
	return sub, ok, nil
}

func (s *memNotify) PutSubscription(_ context.Context, sub notify.Subscription) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]notify.Subscription{}
	}
	s.m[sub.User] = sub
	return nil
}

func fakeNotify() *notify.Settings {
	return &notify.Settings{Store: &memNotify{}, Has: func(c string) bool { return c != "telegram" }}
}

// Each user reads and changes their own notifications: a bad address or
// rule is 400 naming the field in both languages and changes nothing; a
// channel the server lacks is refused; the change is audited.
func TestMyNotifications(t *testing.T) {
	d, rec := testDeps(t)
	h := New(d).Handler()
	w := do(t, h, "PUT", "/api/v1/me/notifications", "technician", `{"email":"lan@example.vn","webhook":"https://zalo-bridge.example/hook","rules":["disk","offline","disk"]}`)
	if w.Code != http.StatusOK {
		t.Fatalf("put: %d %s", w.Code, w.Body)
	}
	for _, bad := range []struct{ body, field string }{
		{`{"email":"not an address","rules":[]}`, "email"},
		{`{"webhook":"ftp://x","rules":[]}`, "webhook"},
		{`{"rules":["loud"]}`, "rules"},
		{`{"telegram":"-1001","rules":[]}`, "telegram"}, // not configured here
	} {
		w := do(t, h, "PUT", "/api/v1/me/notifications", "technician", bad.body)
		if w.Code != http.StatusBadRequest || !strings.HasPrefix(errorText(t, w), bad.field) || !strings.Contains(errorText(t, w), " / ") {
			t.Errorf("%s: %d %s", bad.body, w.Code, w.Body)
		}
	}
	w = do(t, h, "GET", "/api/v1/me/notifications", "technician", "")
	var got MyNotifications
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
		t.Fatalf("get: %d %s", w.Code, w.Body)
	}
	if got.Email != "lan@example.vn" || !slices.Equal(got.Rules, []string{"offline", "disk"}) ||
		!slices.Equal(got.Available, []string{"email", "webhook"}) || len(got.AllRules) != len(notify.Rules) {
		t.Errorf("get %+v", got)
	}
	// another user sees their own (none)
	w = do(t, h, "GET", "/api/v1/me/notifications", "operator", "")
	if json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Email != "" || len(got.Rules) != 0 {
		t.Errorf("operator sees %s", w.Body)
	}
	want := []string{"u-technician|PUT /api/v1/me/notifications|/api/v1/me/notifications|"}
	if got := rec.all(); !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}
