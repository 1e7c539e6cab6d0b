package natsbus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/alert"
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
	// MaxStore is the JetStream store the city's streams may use (bytes;
	// 0: 1 GiB): the server's max_store on the embedded server, the city's
	// share of a cluster's otherwise. Each stream gets a quarter of it as
	// its MaxBytes (StreamShare).
	MaxStore int64
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
	if o.MaxStore <= 0 {
		o.MaxStore = 1 << 30
	}
}

// Limits of what a ward writes (docs/nats.md, "Limits"). A ward's key may
// publish on its own receipt and as-run subjects; these bound what one
// ward, honest or not, can make the city's store hold.
const (
	// MaxReportMsg is the largest receipt REPORTS stores: the city refuses
	// a larger one unread anyway (alert.MaxReport). A real receipt is
	// about 200 bytes.
	MaxReportMsg = alert.MaxReport
	// MaxAsRunMsg is the largest as-run line ASRUN stores. A real one is
	// 250-600 bytes (a long media path and note included).
	MaxAsRunMsg = 4 << 10
	// ReportsPerWard is how many receipts REPORTS keeps per ward (about
	// 250 alerts' worth the city has not taken yet); AsRunPerWard how many
	// as-run lines (weeks of a busy ward's log). Older ones of the same
	// ward go first (discard old, per subject): a ward that floods
	// overwrites its own history, not its neighbours'.
	ReportsPerWard = 1000
	AsRunPerWard   = 10000
)

// StreamShare is the MaxBytes of each of loa's three streams: a quarter
// of the store each. With a MaxBytes, JetStream reserves the stream's
// bytes at creation and never lets it grow past them, so the three
// together can never fill the store: whatever wards send, ALERTS has room
// (its own quarter), and the quarter left over is margin (consumer state,
// a message over a limit before the oldest goes).
func StreamShare(maxStore int64) int64 { return max(maxStore/4, 64<<10) }

// Streams returns the configurations of loa's streams.
func Streams(o StreamOptions) []jetstream.StreamConfig {
	o.defaults()
	share := StreamShare(o.MaxStore)
	// Not synced on every write (a thousand wards answer within a second):
	// a power cut at the city may lose the last receipts or as-run lines,
	// not an alert, and a flood of them does not turn into a flood of
	// synced writes beside the alerts'. A replicated stream is on several
	// servers' disks already (and NATS refuses asynchronous persistence
	// there).
	wardPersist := jetstream.AsyncPersistMode
	if o.Replicas > 1 {
		wardPersist = jetstream.DefaultPersistMode
	}
	return []jetstream.StreamConfig{{
		Name:        StreamAlerts,
		Description: "loa alerts, city to wards",
		Subjects:    []string{alertsAll},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      o.AlertMaxAge,
		MaxMsgSize:  1 << 20,
		// Reserved: wards cannot write here, and the other streams cannot
		// take this quarter. Full (millions of copies), the oldest go: the
		// newest alert always gets in.
		MaxBytes: share,
		Discard:  jetstream.DiscardOld,
		Replicas: o.Replicas,
		// The city publishes each copy with its id as Nats-Msg-Id: a retry
		// after a lost acknowledgement is not a second copy.
		Duplicates: time.Hour,
		DenyDelete: true,
		DenyPurge:  true,
	}, {
		Name:              StreamReports,
		Description:       "loa alert receipts, wards to city",
		Subjects:          []string{reportPrefix + ">"},
		Storage:           jetstream.FileStorage,
		Retention:         jetstream.LimitsPolicy,
		MaxAge:            o.ReportMaxAge,
		MaxMsgSize:        MaxReportMsg,
		MaxBytes:          share,
		MaxMsgsPerSubject: ReportsPerWard,
		Discard:           jetstream.DiscardOld,
		Replicas:          o.Replicas,
		Duplicates:        10 * time.Minute,
		PersistMode:       wardPersist,
	}, {
		Name:              StreamAsRun,
		Description:       "loa as-run lines, wards to city",
		Subjects:          []string{asrunPrefix + ">"},
		Storage:           jetstream.FileStorage,
		Retention:         jetstream.LimitsPolicy,
		MaxAge:            30 * 24 * time.Hour,
		MaxMsgSize:        MaxAsRunMsg,
		MaxBytes:          share,
		MaxMsgsPerSubject: AsRunPerWard,
		Discard:           jetstream.DiscardOld,
		Replicas:          o.Replicas,
		PersistMode:       wardPersist,
	}}
}

// EnsureStreams creates loa's streams, or updates them to this
// configuration. A store made by an older loa-city is brought to these
// limits in place:
//
//   - streams whose reservation shrinks are updated first: JetStream
//     refuses a MaxBytes that would take the reserved total over the
//     store, and an older stream may hold more than its new share;
//   - settings JetStream never changes on an existing stream (storage,
//     persist mode, deny delete/purge) keep the stream's own value, and
//     the rest is applied (limits, sizes, discard policy).
//
// A stream over its new MaxBytes loses its oldest messages at the update.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions) error {
	type step struct {
		cfg  jetstream.StreamConfig
		grow int64 // reserved bytes added
	}
	var steps []step
	for _, cfg := range Streams(o) {
		st := step{cfg: cfg, grow: cfg.MaxBytes}
		s, err := js.Stream(ctx, cfg.Name)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
		case err != nil:
			return fmt.Errorf("stream %s: %w", cfg.Name, err)
		default:
			old := s.CachedInfo().Config
			st.cfg = keepImmutable(old, cfg)
			st.grow = cfg.MaxBytes - max(old.MaxBytes, 0)
		}
		steps = append(steps, st)
	}
	slices.SortStableFunc(steps, func(a, b step) int { return cmp.Compare(a.grow, b.grow) })
	for _, st := range steps {
		if _, err := js.CreateOrUpdateStream(ctx, st.cfg); err != nil {
			if strings.Contains(err.Error(), "insufficient storage") {
				return fmt.Errorf("stream %s: %w (MaxBytes %d: the streams of this store reserve more than its max_store; other streams on the server?)",
					st.cfg.Name, err, st.cfg.MaxBytes)
			}
			return fmt.Errorf("stream %s: %w", st.cfg.Name, err)
		}
	}
	return nil
}

// keepImmutable returns want with the settings JetStream refuses to
// change on an existing stream taken from old.
func keepImmutable(old, want jetstream.StreamConfig) jetstream.StreamConfig {
	want.Storage = old.Storage
	want.PersistMode = old.PersistMode
	want.DenyDelete = want.DenyDelete || old.DenyDelete
	want.DenyPurge = want.DenyPurge || old.DenyPurge
	if old.Retention == jetstream.WorkQueuePolicy || want.Retention == jetstream.WorkQueuePolicy {
		want.Retention = old.Retention
	}
	return want
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
