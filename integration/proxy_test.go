package integration

import (
	"net"
	"sync"
	"testing"
)

// tcpProxy forwards connections to a target; Down cuts every connection and
// refuses new ones, as if the target had gone away; Up restores it. Hang
// keeps every connection open and accepts new ones but forwards nothing, as
// a server that stops answering does (or a network path that drops every
// packet without a reset); Up ends that.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	hung   bool
	conns  map[net.Conn]bool
	// stalled are the connections that swallowed something during a hang:
	// what they carried is lost, so Up cuts them.
	stalled map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]bool{}, stalled: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.Down() })
	go p.serve()
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		if p.hung {
			// Accepted, and never answered.
			p.conns[c], p.stalled[c] = true, true
			p.mu.Unlock()
			go p.pipe(nil, c)
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies from src to dst until either closes; while the proxy hangs it
// drops what it reads instead (dst nil: always).
func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer func() {
		src.Close()
		if dst != nil {
			dst.Close()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			hung := p.hung || dst == nil
			if hung {
				p.stalled[src] = true
				if dst != nil {
					p.stalled[dst] = true
				}
			}
			p.mu.Unlock()
			if !hung {
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// Down closes every forwarded connection and refuses new ones.
func (p *tcpProxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
	p.stalled = map[net.Conn]bool{}
}

// Hang stops forwarding anything, on open connections and on the new ones
// it keeps accepting.
func (p *tcpProxy) Hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hung = true
}

// Up accepts and forwards connections again. Connections that lost data
// during a hang are cut, as the peer's resets would eventually cut them;
// those that carried nothing meanwhile go on.
func (p *tcpProxy) Up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down, p.hung = false, false
	for c := range p.stalled {
		c.Close()
		delete(p.conns, c)
	}
	p.stalled = map[net.Conn]bool{}
}
