package city

import (
	"context"
	"time"

	"loa/city/programs"
	"loa/sqlite"
)

// Program files, manifests and timelines are the programs service's
// (city/programs); these keep the names callers of package city use.
const TargetAll = programs.TargetAll

// ErrUnknownWard is returned for a ward:ID target with no such ward.
var ErrUnknownWard = programs.ErrUnknownWard

// programStore is the city database as the programs service sees it.
type programStore struct{ db *sqlite.CityDB }

func (s programStore) Read() programs.Tx { return s.db.Read() }

func (s programStore) Update(ctx context.Context, fn func(programs.Tx) error) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error { return fn(tx) })
}

// newPrograms builds the programs service of c: c's clock (tests change
// c.Now), key and zone; wards are notified over NATS (NotifyPrograms).
func newPrograms(c *City) *programs.Service {
	s := programs.New(programStore{c.DB}, programs.KeySigner(c.key), c.loc, c.Log)
	s.Now = func() time.Time { return c.Now() }
	s.Notifier = c
	return s
}
