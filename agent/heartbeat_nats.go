package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"loa/fleet"
)

// natsTransport carries the ward's reports over its NATS connection to
// the city: heartbeats on loa.hb.<ward> (core NATS), as-run entries on
// loa.asrun.<ward> (stream ASRUN). The ward needs permission to publish on
// both and to receive the stream's acknowledgements on its inbox.
type natsTransport struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	ward string
	hb   string
	ar   string
}

// NewNATSFleetTransport reports for ward over nc.
func NewNATSFleetTransport(nc *nats.Conn, ward string) (FleetTransport, error) {
	if ward == "" {
		return nil, errors.New("fleet: the ward has no id (ward: in the configuration)")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	return &natsTransport{nc: nc, js: js, ward: ward, hb: fleet.HeartbeatSubject(ward), ar: fleet.AsRunSubject(ward)}, nil
}

var errDisconnected = errors.New("not connected to the city's NATS")

// PublishHeartbeat sends one heartbeat. While disconnected it is dropped,
// not buffered: a heartbeat delivered late says nothing true.
func (t *natsTransport) PublishHeartbeat(data []byte) error {
	if !t.nc.IsConnected() {
		return errDisconnected
	}
	return t.nc.Publish(t.hb, data)
}

// PublishAsRun sends the entries pipelined and waits for the stream's
// acknowledgement of each.
func (t *natsTransport) PublishAsRun(ctx context.Context, msgs []AsRunMessage) []error {
	errs := make([]error, len(msgs))
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		f, err := t.js.PublishMsgAsync(&nats.Msg{Subject: t.ar, Data: m.Data}, jetstream.WithMsgID(m.ID))
		if err != nil {
			errs[i] = err
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs[i] = err
		case <-ctx.Done():
			errs[i] = fmt.Errorf("no acknowledgement from the city: %w", ctx.Err())
		}
	}
	return errs
}

func (t *natsTransport) State() TransportState {
	st := TransportState{Kind: "nats", Connected: t.nc.IsConnected(), Detail: t.nc.Status().String()}
	if st.Connected {
		st.URL = t.nc.ConnectedUrlRedacted()
	}
	if err := t.nc.LastError(); err != nil && !st.Connected {
		st.Detail += ": " + err.Error()
	}
	return st
}
