package natsbus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamOptions size the streams.
type StreamOptions struct {
	// Replicas of every stream (1 on the embedded server, 3 on a cluster).
	Replicas int
	// AlertMaxAge is how long ALERTS keeps a message: longer than the
	// longest-lived alert, so that a ward offline for all of its life still
	// finds it waiting (and refuses it as expired).
	AlertMaxAge time.Duration
	// ReportMaxAge is how long REPORTS keeps receipts the city has not
	// taken yet.
	ReportMaxAge time.Duration
}

func (o *StreamOptions) defaults() {
	if o.Replicas < 1 {
		o.Replicas = 1
	}
	if o.AlertMaxAge <= 0 {
		o.AlertMaxAge = 8 * 24 * time.Hour
	}
	if o.ReportMaxAge <= 0 {
		o.ReportMaxAge = 7 * 24 * time.Hour
	}
}

// Streams returns the configurations of loa's streams.
func Streams(o StreamOptions) []jetstream.StreamConfig {
	o.defaults()
	// Not synced on every write (a thousand wards answer within a second):
	// a power cut at the city may lose the last receipts, not an alert. A
	// replicated stream is on several servers' disks already (and NATS
	// refuses asynchronous persistence there).
	reportPersist := jetstream.AsyncPersistMode
	if o.Replicas > 1 {
		reportPersist = jetstream.DefaultPersistMode
	}
	return []jetstream.StreamConfig{{
		Name:        StreamAlerts,
		Description: "loa alerts, city to wards",
		Subjects:    []string{alertsAll},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      o.AlertMaxAge,
		MaxMsgSize:  1 << 20,
		Replicas:    o.Replicas,
		// The city publishes each copy with its id as Nats-Msg-Id: a retry
		// after a lost acknowledgement is not a second copy.
		Duplicates: time.Hour,
		DenyDelete: true,
		DenyPurge:  true,
	}, {
		Name:        StreamReports,
		Description: "loa alert receipts, wards to city",
		Subjects:    []string{reportPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      o.ReportMaxAge,
		MaxMsgSize:  64 << 10,
		Replicas:    o.Replicas,
		Duplicates:  10 * time.Minute,
		PersistMode: reportPersist,
	}, {
		// Reserved for issue 8 (as-run shipping); created now so that a
		// ward's as-run lines are kept from the first day.
		Name:        StreamAsRun,
		Description: "loa as-run lines, wards to city",
		Subjects:    []string{asrunPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      30 * 24 * time.Hour,
		MaxMsgSize:  64 << 10,
		Replicas:    o.Replicas,
	}}
}

// EnsureStreams creates loa's streams, or updates them to this
// configuration.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions) error {
	for _, cfg := range Streams(o) {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// WardConsumer is the configuration of ward's durable consumer: for the
// ward's subjects, each alert delivered until the ward acknowledges it,
// from `from` on (zero: new alerts only; a ward registered today does not
// play yesterday's).
//
// Its state is kept in memory, not on disk: with a thousand wards, every
// alert costs a thousand acknowledgements, and with the server syncing
// every write (SyncAlways, which the alerts themselves need) a consumer
// on disk turns each into a synced file write, slowing the fan-out tenfold
// (measured: p99 0.64 s against 0.06 s at 1,000 wards). The alerts are on
// disk; a consumer lost with its server is made again by the city from
// the first alert still live (EnsureWardConsumer), and a ward takes an
// alert it already has (the same stream sequence) as a duplicate, not a
// second alert.
func WardConsumer(ward string, groups []string, from time.Time) jetstream.ConsumerConfig {
	c := jetstream.ConsumerConfig{
		Durable:        Consumer(ward),
		Description:    "alerts for ward " + ward,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
		MaxDeliver:     -1,
		MaxAckPending:  1000,
		FilterSubjects: WardFilter(ward, groups),
		MaxWaiting:     64,
		MemoryStorage:  true,
	}
	if !from.IsZero() {
		c.DeliverPolicy, c.OptStartTime = jetstream.DeliverByStartTimePolicy, &from
	}
	return c
}

// EnsureWardConsumer makes ward's consumer exist with the ward's groups:
// created (delivering from `from`, see WardConsumer) when there is none,
// its filter updated when its groups changed, untouched otherwise.
func EnsureWardConsumer(ctx context.Context, js jetstream.JetStream, ward string, groups []string, from time.Time) error {
	want := WardConsumer(ward, groups, from)
	cons, err := js.Consumer(ctx, StreamAlerts, want.Durable)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		if _, err := js.CreateConsumer(ctx, StreamAlerts, want); err != nil && !errors.Is(err, jetstream.ErrConsumerExists) {
			return fmt.Errorf("consumer of ward %s: %w", ward, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("consumer of ward %s: %w", ward, err)
	}
	cfg := cons.CachedInfo().Config
	if slices.Equal(cfg.FilterSubjects, want.FilterSubjects) {
		return nil
	}
	cfg.FilterSubjects = want.FilterSubjects
	if _, err := js.UpdateConsumer(ctx, StreamAlerts, cfg); err != nil {
		return fmt.Errorf("consumer of ward %s: %w", ward, err)
	}
	return nil
}

// CityReportConsumer is the city's durable consumer of REPORTS, from
// sequence from on (0: all). Its state is in memory (see WardConsumer):
// the city's database knows the last receipt it recorded, and a consumer
// made again starts after it. It is acknowledged once per batch.
func CityReportConsumer(from uint64) jetstream.ConsumerConfig {
	c := jetstream.ConsumerConfig{
		Durable:       "city",
		Description:   "loa-city takes the wards' receipts",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: 20000,
		MemoryStorage: true,
	}
	if from > 0 {
		c.DeliverPolicy, c.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
	}
	return c
}

// EnsureConsumer returns the durable consumer cfg names, creating it with
// cfg if there is none (an existing one is kept as it is: its position is
// the truth).
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	cons, err := js.Consumer(ctx, stream, cfg.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = js.CreateConsumer(ctx, stream, cfg)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			cons, err = js.Consumer(ctx, stream, cfg.Durable)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("consumer %s of %s: %w", cfg.Durable, stream, err)
	}
	return cons, nil
}
