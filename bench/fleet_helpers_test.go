package bench

import (
	"runtime"

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
