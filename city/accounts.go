package city

import (
	"context"
	"fmt"
	"time"

	"loa/city/accounts"
	"loa/sqlite"
)

// The accounts service (users, roles, tokens, the ward registry, join
// codes, receipt keys) is wired here to the city database, with the
// programs check a new ward must pass.

// accountsStore is the city database as accounts.Store.
type accountsStore struct{ db *sqlite.CityDB }

func (s accountsStore) Read() accounts.Tx { return s.db.Read() }

func (s accountsStore) Update(ctx context.Context, fn func(accounts.Tx) error) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error { return fn(tx) })
}

// openAccounts builds c.Accounts over c.DB, on c's clock.
func (c *City) openAccounts() {
	a := accounts.New(accountsStore{c.DB}, accounts.JoinKey(c.key.Seed()), c.Log)
	a.Now = func() time.Time { return c.Now() }
	a.Loc = c.loc
	a.CheckWard = c.checkNewWard
	a.Logins = accountsStore{c.DB}
	c.Accounts = a
}

// checkNewWard is accounts' WardCheck: the programs of a new ward's
// groups and of the whole city apply to it at once, so the ward is refused
// if they clash; else its first manifest is built in the same transaction.
func (c *City) checkNewWard(ctx context.Context, tx accounts.Tx, w sqlite.Ward) error {
	cityTx, ok := tx.(sqlite.CityTx) // accountsStore passes the city's transaction on
	if !ok {
		return fmt.Errorf("ward %s: checking its programs needs the city database, not %T", w.ID, tx)
	}
	return c.Programs.CheckWard(ctx, cityTx, w.ID)
}
