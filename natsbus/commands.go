package natsbus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Commands (package command) travel on their own streams, apart from the
// alerts: a backlog on ALERTS (an alert flood, a stream full of copies)
// never holds a "stop everything" up, and a ward offline when a command
// was sent finds it waiting (until it expires: the ward refuses it then).
//
//	loa.cmd.all, loa.cmd.ward.<id>   commands (stream COMMANDS), city → wards
//	loa.cmdack.<ward>                acks (stream COMMAND_ACKS), ward → city
const (
	StreamCommands    = "COMMANDS"
	StreamCommandAcks = "COMMAND_ACKS"

	CommandAll   = "loa.cmd.all"
	commandWard  = "loa.cmd.ward."
	commandsAll  = "loa.cmd.>"
	cmdAckPrefix = "loa.cmdack."
)

// Sizes of the command streams: small (not a quarter of the store like
// the alert streams: a command is a few hundred bytes and lives a day at
// most), taken from the margin the quarters leave (StreamShare).
const (
	CommandStreamBytes = 16 << 20
	CommandMaxAge      = 48 * time.Hour
	MaxCommandAckMsg   = 96 << 10 // a signed ack with a diagnostics bundle (command.MaxAckWire)
	CommandAcksPerWard = 1000
)

// CommandWard is the command subject of one ward.
func CommandWard(ward string) string { return commandWard + ward }

// CommandSubjects are the subjects a command for these wards goes on:
// loa.cmd.all, or one per ward.
func CommandSubjects(all bool, recipients []string) []string {
	if all {
		return []string{CommandAll}
	}
	out := make([]string, len(recipients))
	for i, w := range recipients {
		out[i] = CommandWard(w)
	}
	return out
}

// CommandAck is the subject a ward acks commands on.
func CommandAck(ward string) string { return cmdAckPrefix + ward }

// CommandAckWard returns the ward an ack subject belongs to.
func CommandAckWard(subject string) (string, bool) {
	w, ok := strings.CutPrefix(subject, cmdAckPrefix)
	return w, ok && w != "" && !strings.ContainsAny(w, ".*> ")
}

// CommandConsumer is the name of ward's durable consumer on COMMANDS.
func CommandConsumer(ward string) string { return "cmd-" + ward }

// CommandStreamShare is the MaxBytes of each command stream for a store
// of maxStore bytes (0: 1 GiB): CommandStreamBytes, or a sixteenth of a
// smaller store, so that the two fit in the quarter StreamShare leaves.
func CommandStreamShare(maxStore int64) int64 {
	if maxStore <= 0 {
		maxStore = 1 << 30
	}
	return min(CommandStreamBytes, max(maxStore/16, 64<<10))
}

// CommandStreams are the configurations of the command streams.
func CommandStreams(replicas int, maxStore int64) []jetstream.StreamConfig {
	if replicas < 1 {
		replicas = 1
	}
	size := CommandStreamShare(maxStore)
	return []jetstream.StreamConfig{{
		Name:        StreamCommands,
		Description: "loa commands, city to wards",
		Subjects:    []string{commandsAll},
		Storage:     jetstream.FileStorage,
		MaxAge:      CommandMaxAge,
		MaxMsgSize:  1 << 20,
		MaxBytes:    size,
		Discard:     jetstream.DiscardOld,
		Replicas:    replicas,
		Duplicates:  time.Hour,
	}, {
		Name:              StreamCommandAcks,
		Description:       "loa command acks, wards to city",
		Subjects:          []string{cmdAckPrefix + ">"},
		Storage:           jetstream.FileStorage,
		MaxAge:            7 * 24 * time.Hour,
		MaxMsgSize:        MaxCommandAckMsg,
		MaxBytes:          size,
		MaxMsgsPerSubject: CommandAcksPerWard,
		Discard:           jetstream.DiscardOld,
		Replicas:          replicas,
		Duplicates:        10 * time.Minute,
	}}
}

// EnsureCommandStreams creates or updates the command streams.
func EnsureCommandStreams(ctx context.Context, js jetstream.JetStream, replicas int, maxStore int64) error {
	for _, cfg := range CommandStreams(replicas, maxStore) {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// WardCommandConsumer is ward's durable consumer on COMMANDS: its own
// subject and loa.cmd.all, from when it is made on (a ward registered
// today does not take yesterday's commands).
func WardCommandConsumer(ward string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        CommandConsumer(ward),
		Description:    "commands for ward " + ward,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
		MaxDeliver:     -1,
		MaxAckPending:  100,
		FilterSubjects: []string{CommandAll, CommandWard(ward)},
		MaxWaiting:     16,
	}
}

// EnsureWardCommandConsumer makes ward's command consumer exist.
func EnsureWardCommandConsumer(ctx context.Context, js jetstream.JetStream, ward string) error {
	want := WardCommandConsumer(ward)
	_, err := js.Consumer(ctx, StreamCommands, want.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		_, err = js.CreateConsumer(ctx, StreamCommands, want)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("command consumer of ward %s: %w", ward, err)
	}
	return nil
}

// CityCommandAckConsumer is the city's durable consumer of COMMAND_ACKS.
func CityCommandAckConsumer() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       "city",
		Description:   "loa-city takes the wards' command acks",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: 10000,
	}
}
