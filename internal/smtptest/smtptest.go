// Package smtptest is a tiny SMTP server on loopback for tests: it speaks
// enough of RFC 5321 (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) to
// receive what net/smtp sends, and keeps every message. It offers no
// AUTH; STARTTLS when started with StartTLS.
package smtptest

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
)

// Mail is one message received.
type Mail struct {
	From string
	To   []string
	Data string // headers and body, CRLF line ends, dot-unstuffed
	TLS  bool   // received after STARTTLS
}

// Server is a running test server.
type Server struct {
	Addr string
	ln   net.Listener
	mu   sync.Mutex
	mail []Mail
	wg   sync.WaitGroup
	tls  *tls.Config
}

// Start starts a server on 127.0.0.1; it stops when the test ends.
func Start(tb testing.TB) *Server { return StartTLS(tb, nil) }

// StartTLS starts a server that offers STARTTLS with cfg (nil: none).
func StartTLS(tb testing.TB, cfg *tls.Config) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, tls: cfg}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	tb.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// Mail is every message received so far.
func (s *Server) Mail() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mail...)
}

func (s *Server) serve(c net.Conn) {
	defer func() { c.Close() }()
	r := bufio.NewReader(c)
	say := func(line string) { c.Write([]byte(line + "\r\n")) }
	secure := false
	say("220 smtptest ready")
	var cur Mail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(verb, "EHLO"):
			say("250-smtptest")
			if s.tls != nil && !secure {
				say("250-STARTTLS")
			}
			say("250 8BITMIME")
		case verb == "STARTTLS" && s.tls != nil && !secure:
			say("220 go ahead")
			tc := tls.Server(c, s.tls)
			if tc.Handshake() != nil {
				return
			}
			c, r, secure = tc, bufio.NewReader(tc), true
		case strings.HasPrefix(verb, "HELO"):
			say("250 smtptest")
		case strings.HasPrefix(verb, "MAIL FROM:"):
			cur = Mail{From: strings.Trim(line[len("MAIL FROM:"):], " <>")}
			if i := strings.Index(cur.From, ">"); i >= 0 {
				cur.From = cur.From[:i]
			}
			say("250 ok")
		case strings.HasPrefix(verb, "RCPT TO:"):
			to := strings.Trim(line[len("RCPT TO:"):], " <>")
			cur.To = append(cur.To, to)
			say("250 ok")
		case verb == "DATA":
			say("354 end with .")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.Data, cur.TLS = b.String(), secure
			s.mu.Lock()
			s.mail = append(s.mail, cur)
			s.mu.Unlock()
			say("250 queued")
		case verb == "RSET":
			cur = Mail{}
			say("250 ok")
		case verb == "NOOP":
			say("250 ok")
		case verb == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}
