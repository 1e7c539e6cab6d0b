// Package natsserver is the NATS server loa-city embeds (by default): a
// JetStream server whose file storage is synced before every
// acknowledgement, NKEY authentication of every connection against the
// city's ward directory, the permissions that bind a ward's key to its own
// subjects (WardPermissions; AuthorizationConfig writes the same for an
// external server), one live connection per ward key (a new login closes
// the older ones), and the refusals it logs and counts (Denial).
//
// It lives apart from natsbus so that the server's code stays out of the
// agent's binary: a ward only dials.
package natsserver
