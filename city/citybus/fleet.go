package citybus

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"loa/city/board"
	"loa/fleet"
	"loa/natsbus"
)

// AsRunConsumer is the city's durable consumer of the ASRUN stream.
const AsRunConsumer = "city-asrun"

// asRunStreamConfig is the ASRUN stream, created here if the bus has not:
// natsbus's, with its limits.
func (b *Bus) asRunStreamConfig() jetstream.StreamConfig {
	for _, s := range natsbus.Streams(b.StreamOptions()) {
		if s.Name == fleet.AsRunStream {
			return s
		}
	}
	panic("natsbus has no stream " + fleet.AsRunStream)
}

// ServeFleet takes the wards' heartbeats (loa.hb.*) into the board and
// stores the as-run entries of the ASRUN stream, acknowledging each once
// it is in the database, until ctx ends. It is the board's NATS adapter:
// what a message means is the board's (city/board). On a started bus it
// waits for the streams before making the as-run consumer.
func (b *Bus) ServeFleet(ctx context.Context, nc *nats.Conn) error {
	b.svc.Board.Board() // loaded before the first heartbeat
	sub, err := nc.Subscribe(fleet.HeartbeatPrefix+"*", func(m *nats.Msg) {
		b.svc.Board.TakeHeartbeat(fleet.WardOfSubject(m.Subject, fleet.HeartbeatPrefix), m.Subject, m.Data)
	})
	if err != nil {
		return fmt.Errorf("subscribe to heartbeats: %w", err)
	}
	defer sub.Unsubscribe()
	b.svc.Board.HeartbeatsStarted()
	// 10,000 wards send 667 a second: room for a minute of them if the
	// handler ever stalls.
	sub.SetPendingLimits(64<<10, 64<<20)

	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	// The streams are the alert side's to create (alertLoop): the as-run
	// consumer waits for them, since a consumer made while its stream is
	// being updated races inside the NATS server.
	if b.started {
		select {
		case <-ctx.Done():
			return nil
		case <-b.ready:
		}
	}
	// An external server may not answer yet: heartbeats flow as soon as it
	// does (the subscription waits), the as-run consumer is set up then.
	var cons jetstream.Consumer
	for {
		if cons, err = b.asRunConsumer(ctx, js); err == nil {
			break
		}
		b.log.Warn("fleet: as-run consumer not ready; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Second):
		}
	}
	for ctx.Err() == nil {
		if err := b.takeAsRun(ctx, cons); err != nil && ctx.Err() == nil {
			b.log.Warn("fleet: as-run not taken", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}
	return nil
}

func (b *Bus) asRunConsumer(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	if _, err := js.Stream(ctx, fleet.AsRunStream); errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, b.asRunStreamConfig())
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, fmt.Errorf("stream %s: %w", fleet.AsRunStream, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("stream %s: %w", fleet.AsRunStream, err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, fleet.AsRunStream, jetstream.ConsumerConfig{
		Durable:       AsRunConsumer,
		Description:   "loa-city stores the wards' as-run logs",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Minute,
		MaxDeliver:    -1,
		MaxAckPending: 20000,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", AsRunConsumer, err)
	}
	return cons, nil
}

// takeAsRun fetches a batch of as-run messages, stores them in one
// transaction and acknowledges them.
func (b *Bus) takeAsRun(ctx context.Context, cons jetstream.Consumer) error {
	fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	batch, err := cons.Fetch(500, jetstream.FetchContext(fctx))
	if err != nil {
		return err
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		b.log.Debug("fleet: as-run fetch", "err", err)
	}
	return b.storeAsRun(ctx, msgs)
}

// storeAsRun judges a batch of as-run messages one by one (the ward's
// budget, then its own key: each line is read only when the key of the
// ward whose subject it came on signs it), stores those read in one
// transaction, and acknowledges them once stored. Dropped messages are
// acknowledged, refused ones terminated, those whose key could not be
// read asked for again; a failed store asks for the whole batch again.
func (b *Bus) storeAsRun(ctx context.Context, batch []jetstream.Msg) error {
	var msgs []jetstream.Msg
	var entries []fleet.AsRunEntry
	keys := &wardKeys{keys: b.svc.Keys}
	for _, m := range batch {
		ward := fleet.WardOfSubject(m.Subject(), fleet.AsRunPrefix)
		if !b.svc.Board.Allow(ward, board.KindAsRun) {
			m.Ack() // dropped: counted, the ward shown flooding
			continue
		}
		key, err := keys.get(ctx, ward)
		if err != nil {
			m.NakWithDelay(5 * time.Second)
			b.log.Warn("fleet: as-run: the ward's key not read", "ward", ward, "err", err)
			continue
		}
		e, err := b.svc.Board.OpenAsRun(ward, m.Data(), key)
		if err != nil {
			m.Term() // refused: counted and logged by the board
			continue
		}
		msgs = append(msgs, m)
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil
	}
	n, err := b.svc.Board.StoreAsRun(ctx, entries)
	if err != nil {
		for _, m := range msgs {
			m.NakWithDelay(5 * time.Second)
		}
		return err
	}
	for _, m := range msgs {
		m.Ack()
	}
	b.log.Debug("fleet: as-run stored", "entries", len(entries), "new", n)
	return nil
}

// wardKeys looks up wards' receipt keys, remembering them for a batch.
type wardKeys struct {
	keys ReceiptKeys
	m    map[string]ed25519.PublicKey
}

// get returns ward's registered receipt key (nil: none registered).
func (k *wardKeys) get(ctx context.Context, ward string) (ed25519.PublicKey, error) {
	if pub, ok := k.m[ward]; ok {
		return pub, nil
	}
	pub, err := k.keys.ReceiptKey(ctx, ward)
	if err != nil {
		return nil, err
	}
	if k.m == nil {
		k.m = map[string]ed25519.PublicKey{}
	}
	k.m[ward] = pub
	return pub, nil
}
