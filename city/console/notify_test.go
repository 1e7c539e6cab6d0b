package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/city/notify"
)

type memNotifyStore struct {
	mu sync.Mutex
	m  map[string]notify.Subscription
}

func (s *memNotifyStore) Subscription(_ context.Context, user string) (notify.Subscription, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.m[user]
	return sub, ok, nil
}

func (s *memNotifyStore) PutSubscription(_ context.Context, sub notify.Subscription) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[sub.User] = sub
	return nil
}

// The notifications page: labelled checkboxes per rule, the user's
// addresses; a save changes the user's own, refuses a bad address naming
// the field (nothing changed), refuses a post without the session's CSRF
// token, and is audited; a channel the server lacks is shown disabled.
func TestNotifyPage(t *testing.T) {
	store := &memNotifyStore{m: map[string]notify.Subscription{}}
	sessions := &fakeSessions{}
	accounts := newFakeAccounts()
	sessions.accounts = accounts
	var audited []string
	var amu sync.Mutex
	c, err := New(Deps{Accounts: accounts, Sessions: sessions, Station: "Phường Bến Nghé", Location: time.UTC,
		Notify: &notify.Settings{Store: store, Has: func(ch string) bool { return ch != "telegram" }},
		Record: func(_ context.Context, actor, action, target, _ string) {
			amu.Lock()
			audited = append(audited, actor+" "+action+" "+target)
			amu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	tc := &testConsole{srv: srv}
	b := browser(t)
	login(t, tc, b, "ky-thuat", "mật-khẩu-dài-2")
	code, _, page := do(t, b, "GET", srv.URL+"/me/notifications", nil, nil)
	if code != 200 || !strings.Contains(page, `<label class="check"><input type="checkbox" name="rule" value="offline"`) || !strings.Contains(page, "Mất kết nối") ||
		!strings.Contains(page, `<label for="email">`) || !strings.Contains(page, `id="telegram" name="telegram" value="" disabled`) {
		t.Fatalf("page %d:\n%s", code, page)
	}
	csrf := csrfOf(t, page)
	form := url.Values{"csrf": {csrf}, "email": {"ky-thuat@ubnd.example"}, "rule": {"offline", "disk"}}
	if code, _, _ := do(t, b, "POST", srv.URL+"/me/notifications", url.Values{"email": {"x@y.z"}, "rule": {"offline"}}, nil); code == http.StatusOK {
		t.Errorf("post without the CSRF token: %d", code)
	}
	code, _, page = do(t, b, "POST", srv.URL+"/me/notifications", form, nil)
	if code != 200 || !strings.Contains(page, "Đã lưu") || !strings.Contains(page, `value="disk" id="rule-disk" checked`) {
		t.Fatalf("save %d:\n%s", code, page)
	}
	bad := url.Values{"csrf": {csrf}, "email": {"not an address"}, "rule": {"silent"}}
	code, _, page = do(t, b, "POST", srv.URL+"/me/notifications", bad, nil)
	if code != http.StatusBadRequest || !strings.Contains(page, "email") || !strings.Contains(page, "not an e-mail address") {
		t.Fatalf("bad e-mail %d:\n%s", code, page)
	}
	if got := store.m["ky-thuat"]; got.Email != "ky-thuat@ubnd.example" || !slices.Equal(got.Rules, []string{"offline", "disk"}) {
		t.Errorf("stored %+v", got)
	}
	amu.Lock()
	defer amu.Unlock()
	if !slices.Equal(audited, []string{"ky-thuat console.login ", "ky-thuat console POST /me/notifications /me/notifications"}) {
		t.Errorf("audit %q", audited)
	}
}
