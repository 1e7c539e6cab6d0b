package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// NotifySubscription is a user's notification settings (city/notify).
type NotifySubscription struct {
	User      string
	Email     string
	Telegram  string
	Webhook   string
	Rules     []string
	UpdatedAt time.Time
}

// NotifySubscriptions lists the subscriptions of users not disabled, by
// user.
func (t CityTx) NotifySubscriptions(ctx context.Context) ([]NotifySubscription, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT s.user, s.email, s.telegram, s.webhook, s.rules, s.updated_at
		FROM notify_subscriptions s JOIN users u ON u.name = s.user
		WHERE u.disabled_at IS NULL ORDER BY s.user`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []NotifySubscription
	for rows.Next() {
		s, err := scanNotify(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// NotifySubscription is user's subscription; ErrNotFound when they have
// none.
func (t CityTx) NotifySubscription(ctx context.Context, user string) (NotifySubscription, error) {
	s, err := scanNotify(t.q.QueryRowContext(ctx, `SELECT user, email, telegram, webhook, rules, updated_at
		FROM notify_subscriptions WHERE user = ?`, user))
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	return s, err
}

func scanNotify(r interface{ Scan(...any) error }) (NotifySubscription, error) {
	var s NotifySubscription
	var rules string
	var updated int64
	if err := r.Scan(&s.User, &s.Email, &s.Telegram, &s.Webhook, &rules, &updated); err != nil {
		return s, err
	}
	if rules != "" {
		s.Rules = strings.Split(rules, ",")
	}
	s.UpdatedAt = fromMS(updated)
	return s, nil
}

// PutNotifySubscription writes s (replacing the user's); ErrNotFound
// when there is no such user.
func (t CityTx) PutNotifySubscription(ctx context.Context, s NotifySubscription) error {
	var n int
	if err := t.q.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, s.User).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO notify_subscriptions (user, email, telegram, webhook, rules, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user) DO UPDATE SET email = excluded.email,
		telegram = excluded.telegram, webhook = excluded.webhook, rules = excluded.rules, updated_at = excluded.updated_at`,
		s.User, s.Email, s.Telegram, s.Webhook, strings.Join(s.Rules, ","), t.now().UnixMilli())
	return err
}

// DeleteNotifySubscription removes user's subscription (none: no error).
func (t CityTx) DeleteNotifySubscription(ctx context.Context, user string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM notify_subscriptions WHERE user = ?`, user)
	return err
}
