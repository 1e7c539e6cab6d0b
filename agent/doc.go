// Package agent is the ward station, loa-agent: its commands (run,
// program load/show, render, status, doctor, live, demo, join) and the
// daemon that runs a ward. The daemon wires the parts that live in their
// own packages — the player (player/) on the audio engine (audio/), the
// program sync from the city (playlist/), the local database (sqlite/) —
// and owns what is the station's alone: its configuration, the alert
// receiver over NATS with its outbox and expiry, heartbeats and as-run
// shipping, the clock kept against the city's, the amplifier relay, the
// status page, /healthz and /metrics, the control socket for the ward's own
// live voice, disk-space guards and systemd notification.
//
// Errors that are the caller's to fix (a bad file, flag or configuration
// key) are bad input (loa/internal/cmdkit): exit status 2.
package agent
