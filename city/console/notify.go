package console

import (
	"context"
	"net/http"
	"slices"

	"loa/city/notify"
)

// The user's own notifications (Thông báo): where they are told when a
// ward in their scope goes wrong, and of what. The page calls the same
// settings as GET/PUT /api/v1/me/notifications (city/notify).

// NotifySettings are the users' subscriptions (*notify.Settings).
type NotifySettings interface {
	Get(ctx context.Context, user string) (notify.Subscription, error)
	Put(ctx context.Context, user string, s notify.Subscription) (notify.Subscription, error)
	Available() []string
}

type notifyRule struct {
	ID, VI, EN string
	On         bool
}

type notifyData struct {
	Email, Telegram, Webhook string
	Rules                    []notifyRule
	Has                      map[string]bool
	Saved                    bool
	Error                    string
}

func (c *Console) notifyData(sub notify.Subscription) notifyData {
	d := notifyData{Email: sub.Email, Telegram: sub.Telegram, Webhook: sub.Webhook, Has: map[string]bool{}}
	for _, ch := range c.deps.Notify.Available() {
		d.Has[ch] = true
	}
	for _, r := range notify.Rules {
		vi, en := notify.RuleText(r)
		d.Rules = append(d.Rules, notifyRule{ID: r, VI: vi, EN: en, On: slices.Contains(sub.Rules, r)})
	}
	return d
}

func (c *Console) getNotify(w http.ResponseWriter, r *http.Request, s *Session) {
	if c.deps.Notify == nil {
		http.NotFound(w, r)
		return
	}
	p := c.newPage(r, s, "notify.title")
	sub, err := c.deps.Notify.Get(r.Context(), s.User)
	if err != nil {
		c.deps.Log.Error("console: notifications not read", "user", s.User, "err", err)
	}
	p.Data = c.notifyData(sub)
	c.render(w, r, http.StatusOK, "notify", p)
}

func (c *Console) postNotify(w http.ResponseWriter, r *http.Request, s *Session) {
	if c.deps.Notify == nil {
		http.NotFound(w, r)
		return
	}
	p := c.newPage(r, s, "notify.title")
	r.ParseForm()
	sub := notify.Subscription{Email: r.PostFormValue("email"), Telegram: r.PostFormValue("telegram"), Webhook: r.PostFormValue("webhook"), Rules: r.PostForm["rule"]}
	saved, err := c.deps.Notify.Put(r.Context(), s.User, sub)
	status := http.StatusOK
	var d notifyData
	if err != nil {
		d = c.notifyData(sub)
		d.Error = err.Error()
		status = http.StatusBadRequest
	} else {
		d = c.notifyData(saved)
		d.Saved = true // the console's audit records the change
	}
	p.Data = d
	c.render(w, r, status, "notify", p)
}
