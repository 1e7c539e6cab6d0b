package bench

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

type runtimeMem struct{ heap uint64 }

func readMem(m *runtimeMem) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.heap = ms.HeapInuse
}

type keyPair struct {
	pub  string
	sign func([]byte) ([]byte, error)
}

func natsKeyPair(seed string) (keyPair, error) {
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		return keyPair{}, err
	}
	pub, err := kp.PublicKey()
	return keyPair{pub: pub, sign: kp.Sign}, err
}

// benchWards is the numbers of wards a fleet benchmark runs with:
// LOA_BENCH_WARDS (comma-separated) or def.
func benchWards(def []int) []int {
	s := os.Getenv("LOA_BENCH_WARDS")
	if s == "" {
		return def
	}
	var ns []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			ns = append(ns, n)
		}
	}
	return ns
}

// writeHeapProfile writes this process's heap profile (after a GC) to path.
func writeHeapProfile(tb testing.TB, path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		tb.Error(err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		tb.Error(err)
	}
}
