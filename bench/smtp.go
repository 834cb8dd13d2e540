package main

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"sync/atomic"
)

// smtpSink is the smallest SMTP server the mailer can talk to: it accepts
// every message and counts them, so the bench measures escalate and the
// engine rather than a mail catcher on a shared two-core machine (the
// fault tests use MailDev, as the integration tests do).
type smtpSink struct {
	ln       net.Listener
	messages atomic.Int64
	wg       sync.WaitGroup
}

func startSMTPSink() (*smtpSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &smtpSink{ln: ln}
	go s.serve()
	return s, nil
}

func (s *smtpSink) Addr() string { return s.ln.Addr().String() }

func (s *smtpSink) Close() { _ = s.ln.Close() }

func (s *smtpSink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *smtpSink) session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	say := func(line string) bool {
		_, err := w.WriteString(line + "\r\n")
		return err == nil && w.Flush() == nil
	}
	if !say("220 bench SMTP sink") {
		return
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.TrimSpace(line))
		if i := strings.IndexAny(verb, " :"); i > 0 {
			verb = verb[:i]
		}
		switch verb {
		case "EHLO":
			if !say("250-bench\r\n250 8BITMIME") {
				return
			}
		case "HELO", "MAIL", "RCPT", "RSET", "NOOP":
			if !say("250 OK") {
				return
			}
		case "DATA":
			if !say("354 go ahead") {
				return
			}
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
			}
			s.messages.Add(1)
			if !say("250 OK queued") {
				return
			}
		case "QUIT":
			say("221 bye")
			return
		default:
			if !say("502 not implemented") {
				return
			}
		}
	}
}
