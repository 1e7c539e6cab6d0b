package citybus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/natsbus"
)

// Commands is city/commands as the bus uses it: the commands not yet in
// JetStream, and the wards' acks.
type Commands interface {
	PublishPending(ctx context.Context)
	RecordAck(ctx context.Context, ward string, data []byte, seq uint64) error
}

// PublishCommand publishes a signed command on each subject (COMMANDS;
// its id and subject as Nats-Msg-Id, so a retry is not a second copy)
// and waits for JetStream's acknowledgements.
func (b *Bus) PublishCommand(ctx context.Context, subjects []string, id string, envelope []byte) error {
	if b.js == nil {
		return errors.New("NATS not started")
	}
	var futs []jetstream.PubAckFuture
	for _, s := range subjects {
		f, err := b.js.PublishAsync(s, envelope, jetstream.WithMsgID(id+"|"+s))
		if err != nil {
			return fmt.Errorf("command %s on %s: %w", id, s, err)
		}
		futs = append(futs, f)
	}
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("command %s: %w", id, err)
		case <-ctx.Done():
			return fmt.Errorf("command %s: no acknowledgement from JetStream: %w", id, ctx.Err())
		}
	}
	return nil
}

// commandLoop sets up the command streams, gives every ward its command
// consumer (on disk: it outlives a server restart), publishes the
// commands not yet in JetStream and takes the wards' acks.
func (b *Bus) commandLoop(ctx context.Context) {
	if b.svc.Commands == nil {
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-b.ready:
	}
	for wait := 500 * time.Millisecond; ; wait = min(wait*2, 10*time.Second) {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := natsbus.EnsureCommandStreams(sctx, b.js, b.cfg.Replicas, b.cfg.MaxStore)
		cancel()
		if err == nil {
			break
		}
		b.log.Warn("NATS command streams not ready; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	go natsbus.ConsumeLoop{
		Name: "command ack intake",
		Consumer: func(ctx context.Context) (jetstream.Consumer, error) {
			return natsbus.EnsureConsumer(ctx, b.js, natsbus.StreamCommandAcks, natsbus.CityCommandAckConsumer())
		},
		Handle:   func(m jetstream.Msg) { b.takeCommandAck(ctx, m) },
		Pull:     []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(100), jetstream.PullHeartbeat(5 * time.Second)},
		RetryMin: 500 * time.Millisecond,
		Log:      b.log,
	}.Run(ctx)
	have := map[string]bool{}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		b.commandConsumers(ctx, have)
		b.svc.Commands.PublishPending(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// commandConsumers makes the command consumer of each ward that has none.
func (b *Bus) commandConsumers(ctx context.Context, have map[string]bool) {
	wards, err := b.svc.Wards.Wards(ctx)
	if err != nil {
		b.log.Error("ward command consumers", "err", err)
		return
	}
	made, failed := 0, 0
	for _, w := range wards {
		if have[w.ID] {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := natsbus.EnsureWardCommandConsumer(cctx, b.js, w.ID)
		cancel()
		if err != nil {
			b.log.Warn("ward command consumer not ready", "ward", w.ID, "err", err)
			failed++
			continue
		}
		have[w.ID] = true
		made++
	}
	if made > 0 {
		b.log.Info("ward command consumers ready", "wards", len(have), "failed", failed)
	}
}

func (b *Bus) takeCommandAck(ctx context.Context, m jetstream.Msg) {
	ward, ok := natsbus.CommandAckWard(m.Subject())
	if !ok {
		m.Term()
		return
	}
	var seq uint64
	if md, err := m.Metadata(); err == nil {
		seq = md.Sequence.Stream
	}
	if err := b.svc.Commands.RecordAck(ctx, ward, m.Data(), seq); err != nil {
		b.log.Warn("command ack not recorded", "ward", ward, "err", err)
	}
	m.Ack()
}
