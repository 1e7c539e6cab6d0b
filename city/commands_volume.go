package city

import (
	"context"

	"loa/sqlite"
)

// LastVolumeAck: a ward's latest acknowledged master volume (the console's
// ward page shows it).
func (s commandStore) LastVolumeAck(ctx context.Context, ward string) (sqlite.CommandAck, bool, error) {
	return s.db.Read().LastVolumeAck(ctx, ward)
}
