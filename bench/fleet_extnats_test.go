package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"loa/internal/testwait"
	"loa/natsbus"
)

// The external NATS server of BenchmarkFleetProcess (LOA_BENCH_NATS=external):
// a nats-server process of its own, configured as docs/nats.md tells an
// operator to (JetStream with every write synced, no default consumer
// limit, the authorization block `loa-city nats config` prints), the city
// connected to it with nats.url and the simulated wards connected to it
// directly, as wards are to an external server.

// natsServerBin builds nats-server (the version in go.mod) once per run
// and returns its path.
func natsServerBin(tb testing.TB) string {
	return buildBin(tb, "nats-server", "github.com/nats-io/nats-server/v2")
}

// externalNATS is a nats-server process.
type externalNATS struct {
	proc   *exec.Cmd
	exited chan error
}

// startExternalNATS writes the server's configuration (client address
// addr, the city's authorization block auth) into dir and starts it,
// waiting until its monitoring port says JetStream is up.
func startExternalNATS(b *testing.B, dir, addr, auth string) *externalNATS {
	b.Helper()
	if err := os.WriteFile(filepath.Join(dir, "loa-auth.conf"), []byte(auth), 0o600); err != nil {
		b.Fatal(err)
	}
	monitor := freeAddr(b)
	conf := fmt.Sprintf(`# As docs/nats.md, "An external server or cluster" (one server).
server_name: bench
listen: %s
http: %s
jetstream { store_dir: %q, sync_interval: always,
            limits { default_max_consumers: -1 } }
include "loa-auth.conf"
`, addr, monitor, filepath.Join(dir, "store"))
	path := filepath.Join(dir, "nats-server.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	logf, _ := os.Create(filepath.Join(dir, "nats-server.log"))
	s := &externalNATS{proc: exec.Command(natsServerBin(b), "-c", path), exited: make(chan error, 1)}
	s.proc.Stdout, s.proc.Stderr = logf, logf
	if err := s.proc.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { s.exited <- s.proc.Wait() }()
	if !testwait.Poll(60*time.Second, func() bool {
		resp, err := http.Get("http://" + monitor + "/healthz?js-enabled-only=true")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		s.stop()
		log, _ := os.ReadFile(logf.Name())
		b.Fatalf("nats-server did not answer:\n%s", log)
	}
	return s
}

func (s *externalNATS) pid() int { return s.proc.Process.Pid }

func (s *externalNATS) stop() {
	s.proc.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		s.proc.Process.Kill()
		<-s.exited
	}
}

// checkWardConsumers asks the external server's JetStream API, with the
// city's own key, for the consumers on ALERTS and COMMANDS, and fails
// unless every one of the n wards has both: the server really holds what
// delivers an alert or a command to each ward.
func checkWardConsumers(b *testing.B, url, seedPath string, n int) {
	b.Helper()
	seed, err := natsbus.LoadOrCreateSeed(seedPath)
	if err != nil {
		b.Fatal(err)
	}
	link, err := natsbus.Dial(natsbus.ConnOptions{URLs: url, Seed: seed, Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer link.Close()
	js, err := jetstream.New(link.Conn)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		stream string
		name   func(string) string
	}{{natsbus.StreamAlerts, natsbus.Consumer}, {natsbus.StreamCommands, natsbus.CommandConsumer}} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		s, err := js.Stream(ctx, c.stream)
		if err != nil {
			cancel()
			b.Fatalf("%s: %v", c.stream, err)
		}
		have := map[string]bool{}
		names := s.ConsumerNames(ctx)
		for name := range names.Name() {
			have[name] = true
		}
		err = names.Err()
		cancel()
		if err != nil {
			b.Fatalf("%s: consumer names: %v", c.stream, err)
		}
		missing := 0
		for i := range n {
			if !have[c.name(fmt.Sprintf("phuong-%05d", i))] {
				missing++
			}
		}
		if missing > 0 {
			b.Fatalf("%s on the external server: %d of %d wards have no consumer", c.stream, missing, n)
		}
		b.Logf("%s on the external server: %d consumers, every ward's there", c.stream, len(have))
	}
}
