package city

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
)

// Token prefixes say what a token is when one turns up in a log or a
// config file; the server looks every token up by its hash either way.
const (
	wardTokenPrefix = "loaw_"
	userTokenPrefix = "loau_"
)

// newToken returns a random token (256 bits) and its hash. Tokens are
// stored only as sha256: they are random, so a slow hash adds nothing.
func newToken(prefix string) (string, []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	tok := prefix + base64.RawURLEncoding.EncodeToString(b)
	return tok, hashToken(tok)
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// lockMap hands out one mutex per key (an upload id), so that two requests
// never append to the same upload at once.
type lockMap struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int
}

func (m *lockMap) lock(key string) func() {
	m.mu.Lock()
	if m.locks == nil {
		m.locks = map[string]*keyLock{}
	}
	l := m.locks[key]
	if l == nil {
		l = &keyLock{}
		m.locks[key] = l
	}
	l.users++
	m.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		m.mu.Lock()
		if l.users--; l.users == 0 {
			delete(m.locks, key)
		}
		m.mu.Unlock()
	}
}
