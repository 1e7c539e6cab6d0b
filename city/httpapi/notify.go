package httpapi

import (
	"context"
	"net/http"

	"loa/city/notify"
)

// Notifications: each user reads and changes where they are told when a
// ward in their scope goes wrong (city/notify). A user changes only their
// own; the change is audited like every other.

// NotifySettings are the users' subscriptions (*notify.Settings).
type NotifySettings interface {
	Get(ctx context.Context, user string) (notify.Subscription, error)
	Put(ctx context.Context, user string, s notify.Subscription) (notify.Subscription, error)
	Available() []string
}

// MyNotifications is the body of GET and PUT /api/v1/me/notifications.
type MyNotifications struct {
	Email    string   `json:"email"`
	Telegram string   `json:"telegram"`
	Webhook  string   `json:"webhook"`
	Rules    []string `json:"rules"`
	// Available and AllRules are answered, not read: the channels the
	// server is configured for and every rule there is.
	Available []string `json:"available_channels,omitempty"`
	AllRules  []string `json:"all_rules,omitempty"`
}

func (s *Server) myNotifications(sub notify.Subscription) MyNotifications {
	return MyNotifications{Email: sub.Email, Telegram: sub.Telegram, Webhook: sub.Webhook, Rules: sub.Rules,
		Available: s.d.Notify.Available(), AllRules: notify.Rules}
}

func (s *Server) getMyNotifications(w http.ResponseWriter, r *http.Request, p principal) {
	if s.d.Notify == nil {
		writeError(w, http.StatusServiceUnavailable, "thông báo không có trên máy chủ này / notifications are not available")
		return
	}
	sub, err := s.d.Notify.Get(r.Context(), p.user)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.myNotifications(sub))
}

func (s *Server) putMyNotifications(w http.ResponseWriter, r *http.Request, p principal) {
	if s.d.Notify == nil {
		writeError(w, http.StatusServiceUnavailable, "thông báo không có trên máy chủ này / notifications are not available")
		return
	}
	var body MyNotifications
	if !decodeBody(w, r, &body) {
		return
	}
	sub, err := s.d.Notify.Put(r.Context(), p.user, notify.Subscription{Email: body.Email, Telegram: body.Telegram, Webhook: body.Webhook, Rules: body.Rules})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.myNotifications(sub))
}
