package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"loa/natsbus"
)

// natsNode is one server of a NATS cluster run by the test, in-process
// (the nats-server of the Go module), configured from a file as an
// operator would.
type natsNode struct {
	name, client, cluster, dir string
	srv                        *server.Server
}

// startNATSCluster writes the configuration of three clustered servers
// with JetStream (synced on every write) and the authorization block the
// city printed, and starts them.
func startNATSCluster(t *testing.T, dir, auth string, ports []string) []*natsNode {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "loa-auth.conf"), []byte(auth), 0o600); err != nil {
		t.Fatal(err)
	}
	nodes := make([]*natsNode, 3)
	var routes []string
	for i := range nodes {
		nodes[i] = &natsNode{name: fmt.Sprintf("n%d", i+1), client: ports[i], cluster: freePort(t), dir: filepath.Join(dir, fmt.Sprintf("n%d", i+1))}
		routes = append(routes, fmt.Sprintf("%q", "nats-route://"+nodes[i].cluster))
	}
	for _, n := range nodes {
		host, port, _ := strings.Cut(n.client, ":")
		chost, cport, _ := strings.Cut(n.cluster, ":")
		conf := fmt.Sprintf(`server_name: %s
host: %s
port: %s
jetstream { store_dir: %q, sync_interval: always }
cluster { name: loa, host: %s, port: %s, routes: [%s] }
include "loa-auth.conf"
`, n.name, host, port, n.dir, chost, cport, strings.Join(routes, ", "))
		path := filepath.Join(dir, n.name+".conf")
		os.WriteFile(path, []byte(conf), 0o600)
		opts, err := server.ProcessConfigFile(path)
		if err != nil {
			t.Fatalf("%s: %v\n%s", n.name, err, conf)
		}
		opts.NoSigs = true
		n.srv, err = server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go n.srv.Start()
		t.Cleanup(n.srv.Shutdown)
	}
	for _, n := range nodes {
		if !n.srv.ReadyForConnections(15 * time.Second) {
			t.Fatalf("%s not ready", n.name)
		}
	}
	return nodes
}

// waitJetStream waits until the cluster has elected its JetStream leader,
// as an operator's cluster has before the city starts.
func waitJetStream(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	waitUntil(t, "the cluster's JetStream leader", 30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	})
}

// With an external NATS cluster of three (nats.url, streams with three
// replicas), a node killed while an alert goes out does not keep it from
// any ward: the one in flight and the next one reach all three.
func TestAlertNATSClusterNodeKilled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Ports first: the city's and the wards' configurations name them.
	var urls []string
	ports := []string{freePort(t), freePort(t), freePort(t)}
	for _, p := range ports {
		urls = append(urls, "nats://"+p)
	}
	c := prepareAlertCity(t, fmt.Sprintf("nats:\n  url: %s\n  replicas: 3\n  admin_keys: [ADMIN_KEY]\n", strings.Join(urls, ",")),
		"phuong-1", "phuong-2", "phuong-3")
	c.natsURL = strings.Join(urls, ",")
	auth := run(t, nil, "loa-city", "nats", "config", "--config", c.config)
	if strings.Count(auth, "# ward ") != 3 {
		t.Fatalf("nats config:\n%s", auth)
	}
	nodes := startNATSCluster(t, dir, auth, ports)
	admin, err := natsbus.Dial(natsbus.ConnOptions{URLs: c.natsURL, Seed: c.adminKey, Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	js, _ := jetstream.New(admin.Conn)
	waitJetStream(t, js)
	c.start()
	tone(t, filepath.Join(c.dir, "coi.wav"), 700, 2)
	run(t, c.adminCtl, "loactl", "media", "upload", filepath.Join(c.dir, "coi.wav"))
	wards := []string{"phuong-1", "phuong-2", "phuong-3"}
	for _, w := range wards {
		c.startWard(w, "null").waitLinked()
	}

	s, err := js.Stream(context.Background(), natsbus.StreamAlerts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil || info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("ALERTS: %v %+v", err, info)
	}
	leader := info.Cluster.Leader

	send := func() string {
		return c.alertSend("--media", "coi.wav", "--to", "all", "--priority", "emergency", "--chime=false", "--expires", "5m")
	}
	first := send()
	for _, n := range nodes {
		if n.name == leader {
			t.Logf("killing %s, the leader of ALERTS, as alert %s goes out", n.name, first)
			n.srv.Shutdown()
		}
	}
	began := time.Now()
	for _, w := range wards {
		c.waitWardState(first, w, "finished", 45*time.Second)
	}
	t.Logf("alert %s finished on all wards %s after the kill", first, time.Since(began).Round(100*time.Millisecond))

	second := send()
	for _, w := range wards {
		c.waitWardState(second, w, "finished", 45*time.Second)
	}
	info, err = s.Info(context.Background())
	if err != nil || info.Cluster.Leader == leader {
		t.Fatalf("ALERTS after the kill: %v %+v", err, info.Cluster)
	}
}
