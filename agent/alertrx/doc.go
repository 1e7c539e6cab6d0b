// Package alertrx is the ward's alert receiver: it takes the city's signed
// alerts from the ward's JetStream consumer, refuses what must not play
// (unsigned, unknown key, bad signature, not addressed here, expired,
// replayed), hands the rest to the player, fetches media an alert needs,
// and reports every outcome back to the city as a receipt, kept on disk
// (or in memory while the disk is full) until JetStream acknowledges it.
//
// It is its own package so that what decides whether a warning is heard
// can be read and tested without the rest of the daemon: it depends only
// on small interfaces it declares for what it needs from the daemon — the
// Player that plays alerts, the Media that fetches them, the Store that
// keeps the replay guard and the receipts (the ward's SQLite database),
// the NATS link (a *natsbus.Link, or the URLs and key to dial one), the
// station's clock (Config.Now, Config.Clock) and one *slog.Logger. Package
// agent wires it (agent/alerts_daemon.go).
package alertrx
