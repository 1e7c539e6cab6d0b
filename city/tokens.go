package city

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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
