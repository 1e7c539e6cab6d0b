package city

import (
	"context"
	"time"

	"loa/city/commands"
	"loa/natsbus"
	"loa/sqlite"
)

// newCommands builds the command service over the city's database, key
// and clock; its bus is set when NATS starts (StartAlerts).
func (c *City) newCommands() *commands.Service {
	return commands.New(commands.Options{Key: c.key, Store: commandStore{c.DB}, Subjects: natsbus.CommandSubjects,
		Keys: c.Accounts, Now: func() time.Time { return c.Now() }, Log: c.Log.With("component", "commands")})
}

// commandStore is the city's database as the command service uses it.
type commandStore struct{ db *sqlite.CityDB }

func (s commandStore) AddCommand(ctx context.Context, cm sqlite.CityCommand) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error { return tx.AddCommand(ctx, cm) })
}

func (s commandStore) MarkCommandPublished(ctx context.Context, id string, at time.Time) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error { return tx.MarkCommandPublished(ctx, id, at) })
}

func (s commandStore) Command(ctx context.Context, id string) (sqlite.CityCommand, error) {
	return s.db.Read().Command(ctx, id)
}

func (s commandStore) UnpublishedCommands(ctx context.Context, now time.Time) ([]sqlite.CityCommand, error) {
	return s.db.Read().UnpublishedCommands(ctx, now)
}

func (s commandStore) AddCommandAck(ctx context.Context, a sqlite.CommandAck) error {
	return s.db.Update(ctx, func(tx sqlite.CityTx) error { return tx.AddCommandAck(ctx, a) })
}

func (s commandStore) CommandAcks(ctx context.Context, id string) ([]sqlite.CommandAck, error) {
	return s.db.Read().CommandAcks(ctx, id)
}

func (s commandStore) WardIDs(ctx context.Context) ([]string, error) { return s.db.Read().WardIDs(ctx) }

func (s commandStore) Ward(ctx context.Context, id string) error {
	_, err := s.db.Read().Ward(ctx, id)
	return err
}

func (s commandStore) WardsInGroup(ctx context.Context, g string) ([]string, error) {
	ws, err := s.db.Read().WardsInGroup(ctx, g)
	ids := make([]string, len(ws))
	for i, w := range ws {
		ids[i] = w.ID
	}
	return ids, err
}
