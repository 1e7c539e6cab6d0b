package wsock

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

// frame is a client frame: masked with a fixed key.
func frame(fin bool, op byte, p []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	h := []byte{b0}
	switch {
	case len(p) < 126:
		h = append(h, 0x80|byte(len(p)))
	case len(p) < 1<<16:
		h = append(h, 0x80|126, byte(len(p)>>8), byte(len(p)))
	default:
		h = append(h, 0x80|127, 0, 0, 0, 0, byte(len(p)>>24), byte(len(p)>>16), byte(len(p)>>8), byte(len(p)))
	}
	mask := []byte{1, 2, 3, 4}
	h = append(h, mask...)
	for i, v := range p {
		h = append(h, v^mask[i%4])
	}
	return h
}

// pipeConn is a Conn reading in and writing to out.
func pipeConn(in []byte) (*Conn, *bytes.Buffer) {
	a, b := net.Pipe()
	out := &bytes.Buffer{}
	go io.Copy(out, b)
	c := &Conn{nc: a, br: bufio.NewReader(bytes.NewReader(in)), MaxMessage: 1 << 10}
	return c, out
}

func TestReadMessages(t *testing.T) {
	in := append(frame(false, Binary, []byte("ab")), frame(true, pingOp, []byte("p"))...)
	in = append(in, frame(true, 0, []byte("cd"))...)
	in = append(in, frame(true, Text, []byte("stop"))...)
	in = append(in, frame(true, Binary, bytes.Repeat([]byte{7}, 300))...)
	in = append(in, frame(true, closeOp, nil)...)
	c, _ := pipeConn(in)
	for _, want := range []struct {
		op  int
		msg string
	}{{Binary, "abcd"}, {Text, "stop"}, {Binary, string(bytes.Repeat([]byte{7}, 300))}} {
		op, msg, err := c.ReadMessage()
		if err != nil || op != want.op || string(msg) != want.msg {
			t.Fatalf("got %d %q %v, want %d %q", op, msg, err, want.op, want.msg)
		}
	}
	if _, _, err := c.ReadMessage(); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestRefusedFrames(t *testing.T) {
	unmasked := []byte{0x82, 0x01, 'x'}
	for name, in := range map[string][]byte{
		"unmasked":     unmasked,
		"too big":      frame(true, Binary, make([]byte, 2000)),
		"reserved":     append([]byte{0xc2}, frame(true, Binary, nil)[1:]...),
		"continuation": frame(true, 0, []byte("x")),
		"long ping":    frame(true, pingOp, make([]byte, 126)),
		"opcode 3":     frame(true, 3, nil),
		"truncated":    frame(true, Binary, []byte("abcdef"))[:8],
	} {
		c, _ := pipeConn(in)
		if _, _, err := c.ReadMessage(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzReadMessage: whatever a client sends, reading ends in a message or
// an error, never a panic or a message over the bound.
func FuzzReadMessage(f *testing.F) {
	f.Add(frame(true, Binary, []byte("abc")))
	f.Add(append(frame(false, Text, []byte("a")), frame(true, 0, []byte("b"))...))
	f.Add([]byte{0x82, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		c, _ := pipeConn(in)
		for i := 0; i < 10; i++ {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if len(msg) > c.MaxMessage {
				t.Fatalf("message of %d bytes over %d", len(msg), c.MaxMessage)
			}
		}
	})
}
