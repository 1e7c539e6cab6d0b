package citybus

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestPublishReason(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}, "store_full"},
		{fmt.Errorf("nats: %w", &jetstream.APIError{Code: 400, ErrorCode: 10047, Description: "insufficient storage resources available"}), "store_full"},
		{jetstream.ErrNoStreamResponse, "no_stream"},
		{nats.ErrNoResponders, "no_stream"},
		{context.DeadlineExceeded, "timeout"},
		{nats.ErrConnectionClosed, "disconnected"},
		{errors.New("something else"), "other"},
	} {
		if got := publishReason(c.err); got != c.want {
			t.Errorf("%v: %s, want %s", c.err, got, c.want)
		}
	}
}
