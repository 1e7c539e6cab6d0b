package natsbus

import (
	"context"
	"fmt"
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

// WardConsumer is the configuration of ward's durable consumer: new
// alerts only (a ward registered today does not play yesterday's), for
// the ward's subjects, each delivered until the ward acknowledges it.
func WardConsumer(ward string, groups []string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        Consumer(ward),
		Description:    "alerts for ward " + ward,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
		MaxDeliver:     -1,
		MaxAckPending:  1000,
		FilterSubjects: WardFilter(ward, groups),
		MaxWaiting:     64,
	}
}

// EnsureWardConsumer creates ward's consumer or updates its filter (its
// groups changed).
func EnsureWardConsumer(ctx context.Context, js jetstream.JetStream, ward string, groups []string) error {
	if _, err := js.CreateOrUpdateConsumer(ctx, StreamAlerts, WardConsumer(ward, groups)); err != nil {
		return fmt.Errorf("consumer of ward %s: %w", ward, err)
	}
	return nil
}

// CityReportConsumer is the city's durable consumer of REPORTS.
func CityReportConsumer() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       "city",
		Description:   "loa-city takes the wards' receipts",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: 20000,
	}
}
