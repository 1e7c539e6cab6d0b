package passhash

import (
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	h := Hash("mật khẩu dài của Lan")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %s", h)
	}
	if h2 := Hash("mật khẩu dài của Lan"); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if ok, err := Verify("mật khẩu dài của Lan", h); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, err := Verify("mat khau dai cua Lan", h); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=0,t=2,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaA", "$argon2id$v=16$m=19456,t=2,p=1$c2FsdA$aGFzaA"} {
		if ok, err := Verify("x", bad); ok || err != ErrMalformed {
			t.Errorf("Verify(%q) = %v, %v", bad, ok, err)
		}
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		p := Generate()
		if len(p) != 19 || strings.Count(p, "-") != 3 || strings.ContainsAny(p, "01lio") || seen[p] {
			t.Fatalf("Generate() = %q", p)
		}
		seen[p] = true
	}
}
