// Package natsbus is what the city and its wards share of NATS: the
// subjects, the JetStream streams and consumers (Streams, EnsureStreams,
// WardConsumer), the ward's key (NewUserKey, LoadOrCreateSeed) and the
// connection both sides dial (Dial, Link: reconnecting, with its state for
// the health pages). The server loa-city embeds, with the permissions that
// bind a ward's key to its own subjects, is natsbus/natsserver, kept out of
// the agent's binary.
//
// Subjects (docs/nats.md has the full table):
//
//	loa.alert.all, loa.alert.ward.<id>, loa.alert.group.<g>   alerts (stream ALERTS), city → wards
//	loa.report.<ward>                                        alert receipts (stream REPORTS), ward → city
//	loa.notify.all, loa.notify.ward.<id>                     "your programs changed" (core NATS)
//	loa.hb.<ward>, loa.asrun.<ward> (stream ASRUN)          reserved: heartbeats, as-run
//	loa.live.all, loa.live.ward.<id>, loa.live.group.<g>      reserved: live announcements
//
// Every ward reads alerts through its own durable consumer on ALERTS,
// created by the city and filtered to the ward's subjects, so that an
// alert sent while a ward is offline waits for it on disk.
package natsbus

import "strings"

// Streams.
const (
	StreamAlerts  = "ALERTS"
	StreamReports = "REPORTS"
	StreamAsRun   = "ASRUN"
)

// Subjects and their prefixes.
const (
	AlertAll     = "loa.alert.all"
	alertWard    = "loa.alert.ward."
	alertGroup   = "loa.alert.group."
	alertsAll    = "loa.alert.>"
	reportPrefix = "loa.report."
	NotifyAll    = "loa.notify.all"
	notifyWard   = "loa.notify.ward."
	hbPrefix     = "loa.hb."
	asrunPrefix  = "loa.asrun."
	LiveAll      = "loa.live.all"
	liveWard     = "loa.live.ward."
	liveGroup    = "loa.live.group."
)

// AlertWard is the alert subject of one ward.
func AlertWard(ward string) string { return alertWard + ward }

// AlertGroup is the alert subject of a group.
func AlertGroup(group string) string { return alertGroup + group }

// Report is the subject ward publishes its receipts on.
func Report(ward string) string { return reportPrefix + ward }

// ReportWard returns the ward a report subject belongs to.
func ReportWard(subject string) (string, bool) {
	w, ok := strings.CutPrefix(subject, reportPrefix)
	return w, ok && w != "" && !strings.ContainsAny(w, ".*> ")
}

// NotifyWard is the program-change subject of one ward.
func NotifyWard(ward string) string { return notifyWard + ward }

// Heartbeat is ward's heartbeat subject (reserved for issue 8).
func Heartbeat(ward string) string { return hbPrefix + ward }

// AsRun is ward's as-run subject (stream ASRUN; reserved for issue 8).
func AsRun(ward string) string { return asrunPrefix + ward }

// LiveSubjects are the subjects a live message for these wards goes to:
// loa.live.all, or one per ward (a ward reads only its own and all: the
// city resolves groups, as for alerts).
func LiveSubjects(all bool, recipients []string) []string {
	if all {
		return []string{LiveAll}
	}
	out := make([]string, len(recipients))
	for i, w := range recipients {
		out[i] = LiveWard(w)
	}
	return out
}

// LiveWard and LiveGroup are the live-announcement subjects.
func LiveWard(ward string) string { return liveWard + ward }

func LiveGroup(group string) string { return liveGroup + group }

// Consumer is the name of ward's durable consumer on ALERTS.
func Consumer(ward string) string { return "ward-" + ward }

// InboxPrefix is the prefix of ward's reply subjects: a ward may
// subscribe to its own inbox only, so it cannot read replies (pulled
// alerts, acks) meant for another.
func InboxPrefix(ward string) string { return "_INBOX_" + ward }

// WardFilter is what ward's consumer delivers: alerts for all, for the
// ward, and for each of its groups.
func WardFilter(ward string, groups []string) []string {
	f := []string{AlertAll, AlertWard(ward)}
	for _, g := range groups {
		f = append(f, AlertGroup(g))
	}
	return f
}

// AlertSubjects are the subjects an alert is published on so that every
// ward it is for gets exactly one copy: loa.alert.all for all; the group's
// subject for one group; else one subject per recipient ward (a ward in two
// groups named must not get two copies, the second of which it would
// refuse as a replay).
func AlertSubjects(all bool, wards, groups, recipients []string) []string {
	switch {
	case all:
		return []string{AlertAll}
	case len(groups) == 1 && len(wards) == 0:
		return []string{AlertGroup(groups[0])}
	}
	out := make([]string, len(recipients))
	for i, w := range recipients {
		out[i] = AlertWard(w)
	}
	return out
}
