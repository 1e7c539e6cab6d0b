package cmdkit

import (
	"errors"
	"fmt"
	"testing"
)

func TestBadInputWrapped(t *testing.T) {
	err := fmt.Errorf("ward x: %w", BadInput("group %q: bad", "A"))
	if !IsBadInput(err) || err.Error() != `ward x: group "A": bad` {
		t.Fatalf("%v", err)
	}
	if IsBadInput(errors.New("disk full")) {
		t.Fatal("a plain error is not bad input")
	}
}
