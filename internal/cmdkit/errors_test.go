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

// apiError is an error that knows whether it is the caller's to fix, like
// loactl's APIError.
type apiError struct{ status int }

func (e apiError) Error() string  { return fmt.Sprintf("HTTP %d", e.status) }
func (e apiError) BadInput() bool { return e.status >= 400 && e.status < 500 }

func TestExitCode(t *testing.T) {
	base := errors.New("no such file")
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"none", nil, ExitOK},
		{"plain failure", errors.New("disk full"), ExitFailure},
		{"bad input", BadInput("--rate: 7"), ExitInput},
		{"bad input wrapped", fmt.Errorf("config: %w", BadInput("log.level: x")), ExitInput},
		{"input marks an error", Input(base), ExitInput},
		{"input wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", Input(base))), ExitInput},
		{"joined with bad input", errors.Join(errors.New("x"), BadInput("y")), ExitInput},
		{"joined without", errors.Join(errors.New("x"), errors.New("y")), ExitFailure},
		{"4xx answer", fmt.Errorf("upload: %w", apiError{404}), ExitInput},
		{"5xx answer", apiError{503}, ExitFailure},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("%s: ExitCode(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestInputKeepsTextAndChain(t *testing.T) {
	base := errors.New("no such file")
	err := Input(fmt.Errorf("config x: %w", base))
	if err.Error() != "config x: no such file" || !errors.Is(err, base) {
		t.Fatalf("%v", err)
	}
	var bad *BadInputError
	if !errors.As(err, &bad) {
		t.Fatal("Input is a BadInputError")
	}
	if Input(nil) != nil {
		t.Fatal("Input(nil) is nil")
	}
	if got := (&BadInputError{Msg: "render", Err: base}).Error(); got != "render: no such file" {
		t.Fatalf("%q", got)
	}
}
