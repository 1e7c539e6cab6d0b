package natsbus

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ConsumeLoop reads a durable JetStream consumer for as long as its
// context lives: the ward's alerts, the city's receipts. A consumer stops
// by itself (it is not there yet, the server restarted or failed over, it
// was deleted): the loop looks it up again and goes on, waiting longer
// after each failure, so that neither side has its own copy of the retry.
type ConsumeLoop struct {
	// Name says what is read, in the log ("alert consumer").
	Name string
	// Consumer finds (or makes) the consumer, each time the loop starts
	// reading; its context ends after LookupTimeout.
	Consumer func(ctx context.Context) (jetstream.Consumer, error)
	// Handle takes each message (and acknowledges it).
	Handle jetstream.MessageHandler
	// Pull are the pull options (batch size, expiry, heartbeat).
	Pull []jetstream.PullConsumeOpt
	// RetryMin and RetryMax bound the wait after a failed start (doubling
	// from RetryMin; defaults 1 s and 10 s).
	RetryMin, RetryMax time.Duration
	// LookupTimeout bounds one call of Consumer (default 10 s).
	LookupTimeout time.Duration
	// OnState, if set, is told nil when the consumer is read, else why
	// not (for the status).
	OnState func(err error)
	Log     *slog.Logger
}

// Run reads the consumer until ctx ends. A start that fails the same way
// as the one before is not logged again: a ward whose consumer is missing
// for hours writes one line, not one every ten seconds.
func (l ConsumeLoop) Run(ctx context.Context) {
	if l.RetryMin <= 0 {
		l.RetryMin = time.Second
	}
	if l.RetryMax <= 0 {
		l.RetryMax = 10 * time.Second
	}
	if l.LookupTimeout <= 0 {
		l.LookupTimeout = 10 * time.Second
	}
	if l.Log == nil {
		l.Log = slog.New(slog.DiscardHandler)
	}
	state := func(err error) {
		if l.OnState != nil {
			l.OnState(err)
		}
	}
	opts := append([]jetstream.PullConsumeOpt{}, l.Pull...)
	opts = append(opts, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		l.Log.Debug(l.Name, "err", err)
	}))
	wait := l.RetryMin
	var lastErr string
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, l.LookupTimeout)
		cons, err := l.Consumer(cctx)
		cancel()
		var cc jetstream.ConsumeContext
		if err == nil {
			cc, err = cons.Consume(l.Handle, opts...)
		}
		if err != nil {
			state(err)
			if err.Error() != lastErr && ctx.Err() == nil {
				l.Log.Warn(l.Name+" not ready; retrying", "err", err, "in", wait)
				lastErr = err.Error()
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(wait*2, l.RetryMax)
			continue
		}
		state(nil)
		if lastErr != "" {
			l.Log.Info(l.Name + " ready")
		}
		lastErr, wait = "", l.RetryMin
		select {
		case <-ctx.Done():
			cc.Stop()
			return
		case <-cc.Closed():
			l.Log.Warn(l.Name + " stopped; starting again")
		}
	}
}
