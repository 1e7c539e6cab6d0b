// Package wsock is the server side of a WebSocket (RFC 6455), as much of
// it as the console's live microphone needs: the handshake, reading
// masked frames (binary and text, fragmented or not, bounded), answering
// pings, and writing text messages. It is small enough to read in one go,
// which is why loa carries it instead of a dependency.
package wsock

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Opcodes of the messages a Conn reads.
const (
	Text    = 1
	Binary  = 2
	closeOp = 8
	pingOp  = 9
	pongOp  = 10
)

// ErrClosed is returned by ReadMessage when the peer closed the socket.
var ErrClosed = errors.New("websocket closed by the peer")

// Conn is an accepted WebSocket.
type Conn struct {
	nc  net.Conn
	br  *bufio.Reader
	wmu sync.Mutex
	// MaxMessage bounds a message (default 1 MiB): a bigger one ends the
	// connection.
	MaxMessage int
}

const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// headerHas reports whether a comma-separated header holds token.
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Upgrade answers a WebSocket handshake. The caller checks the Origin and
// the credentials before: Upgrade accepts any.
func Upgrade(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if r.Method != http.MethodGet || !headerHas(r.Header, "Connection", "upgrade") ||
		!headerHas(r.Header, "Upgrade", "websocket") || key == "" {
		http.Error(w, "a WebSocket handshake is expected here", http.StatusBadRequest)
		return nil, errors.New("not a WebSocket handshake")
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "WebSocket version 13 only", http.StatusUpgradeRequired)
		return nil, errors.New("WebSocket version not 13")
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "no WebSocket on this connection", http.StatusInternalServerError)
		return nil, fmt.Errorf("hijack: %w", err)
	}
	nc.SetDeadline(time.Time{})
	sum := sha1.Sum([]byte(key + guid))
	accept := base64.StdEncoding.EncodeToString(sum[:])
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n"
	if _, err := brw.WriteString(resp); err != nil {
		nc.Close()
		return nil, err
	}
	if err := brw.Flush(); err != nil {
		nc.Close()
		return nil, err
	}
	return &Conn{nc: nc, br: brw.Reader, MaxMessage: 1 << 20}, nil
}

// SetReadDeadline bounds the next reads: a peer that went away without a
// word (a phone out of coverage) is noticed when it passes.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// Close closes the connection (with a close frame, best effort).
func (c *Conn) Close() error {
	c.writeFrame(closeOp, []byte{0x03, 0xe8}) // 1000: normal closure
	return c.nc.Close()
}

// ReadMessage reads the next data message; pings are answered on the way.
// A close from the peer gives ErrClosed.
func (c *Conn) ReadMessage() (op int, msg []byte, err error) {
	op = 0
	for {
		fin, fop, payload, err := c.readFrame()
		if err != nil {
			return 0, nil, err
		}
		switch fop {
		case pingOp:
			if err := c.writeFrame(pongOp, payload); err != nil {
				return 0, nil, err
			}
			continue
		case pongOp:
			continue
		case closeOp:
			c.writeFrame(closeOp, nil)
			return 0, nil, ErrClosed
		case 0: // continuation
			if op == 0 {
				return 0, nil, errors.New("websocket: continuation without a message")
			}
		case Text, Binary:
			if op != 0 {
				return 0, nil, errors.New("websocket: new message inside a fragmented one")
			}
			op = fop
		default:
			return 0, nil, fmt.Errorf("websocket: unknown opcode %d", fop)
		}
		if len(msg)+len(payload) > c.MaxMessage {
			return 0, nil, fmt.Errorf("websocket: message over %d bytes", c.MaxMessage)
		}
		msg = append(msg, payload...)
		if fin {
			return op, msg, nil
		}
	}
}

func (c *Conn) readFrame() (fin bool, op int, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(c.br, h[:]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, int(h[0]&0x0f)
	if h[0]&0x70 != 0 {
		return false, 0, nil, errors.New("websocket: reserved bits set")
	}
	if h[1]&0x80 == 0 {
		return false, 0, nil, errors.New("websocket: unmasked frame from a client")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(c.br, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(c.br, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if op >= 8 && (n > 125 || !fin) {
		return false, 0, nil, errors.New("websocket: bad control frame")
	}
	if n > uint64(c.MaxMessage) {
		return false, 0, nil, fmt.Errorf("websocket: frame over %d bytes", c.MaxMessage)
	}
	var mask [4]byte
	if _, err = io.ReadFull(c.br, mask[:]); err != nil {
		return
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(c.br, payload); err != nil {
		return
	}
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return fin, op, payload, nil
}

// WriteText sends one text message (safe from any goroutine).
func (c *Conn) WriteText(msg []byte) error { return c.writeFrame(Text, msg) }

func (c *Conn) writeFrame(op int, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	h := []byte{0x80 | byte(op)}
	switch n := len(payload); {
	case n < 126:
		h = append(h, byte(n))
	case n < 1<<16:
		h = append(h, 126, byte(n>>8), byte(n))
	default:
		h = append(h, 127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.nc.Write(append(h, payload...)); err != nil {
		return err
	}
	return nil
}
