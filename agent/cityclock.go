package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// cityClock measures how far the city's clock is from this machine's. When
// the kernel has no NTP sync (a Pi on a network without it), the city is
// the reference: the station runs on the city's time, measured over HTTP
// with the round trip halved (±RTT/2, a few tens of milliseconds on 3G).
type cityClock struct {
	url  string
	http *http.Client
	now  func() time.Time // this machine's clock
}

// measure asks the city for its time a few times and keeps the exchange
// with the shortest round trip.
func (c cityClock) measure(ctx context.Context) (offset, rtt time.Duration, err error) {
	best := time.Duration(-1)
	for i := 0; i < 5; i++ {
		o, r, e := c.once(ctx)
		if e != nil {
			err = e
			continue
		}
		if best < 0 || r < best {
			best, offset = r, o
		}
	}
	if best < 0 {
		return 0, 0, err
	}
	return offset, best, nil
}

func (c cityClock) once(ctx context.Context) (time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(c.url, "/")+"/api/v1/time", nil)
	if err != nil {
		return 0, 0, err
	}
	t0 := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var tr struct {
		UnixNano int64 `json:"unix_ns"`
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("city time: HTTP %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1024)).Decode(&tr); err != nil || tr.UnixNano == 0 {
		return 0, 0, fmt.Errorf("city time: bad answer")
	}
	t1 := c.now()
	rtt := t1.Sub(t0)
	mid := t0.Add(rtt / 2)
	return time.Unix(0, tr.UnixNano).Sub(mid), rtt, nil
}
