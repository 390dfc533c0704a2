// Package pgcount is a loopback proxy in front of PostgreSQL that counts
// the statements its clients send: each simple Query message and each
// Execute of an extended-protocol statement is one. The benchmarks put it
// between a server and the database to say how many statements one call
// runs, whichever driver the server uses.
package pgcount

import (
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
)

// Proxy forwards connections to PostgreSQL and counts statements.
type Proxy struct {
	ln       net.Listener
	upstream string
	n        atomic.Int64
	mu       sync.Mutex
	texts    []string
	capture  bool
	wg       sync.WaitGroup
}

// Start listens on a loopback port and forwards to upstream (host:port).
func Start(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, upstream: upstream}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Rewrite returns the PostgreSQL URL u pointed at the proxy, and the
// upstream address it named.
func Rewrite(u string, p *Proxy) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	parsed.Host = p.ln.Addr().String()
	return parsed.String()
}

// Upstream returns the host:port a PostgreSQL URL names.
func Upstream(u string) string {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" {
		return "127.0.0.1:5432"
	}
	if parsed.Port() == "" {
		return parsed.Host + ":5432"
	}
	return parsed.Host
}

// Count returns the statements sent so far.
func (p *Proxy) Count() int64 { return p.n.Load() }

// Capture starts (or stops) keeping the text of each statement parsed or
// queried; Texts returns and clears them.
func (p *Proxy) Capture(on bool) {
	p.mu.Lock()
	p.capture = on
	p.mu.Unlock()
}

// Texts returns the captured statement texts and clears them.
func (p *Proxy) Texts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.texts
	p.texts = nil
	return t
}

// Close stops listening; open connections end when their clients close.
func (p *Proxy) Close() error { return p.ln.Close() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		_, _ = io.Copy(client, server)
		client.Close()
	}()
	_ = p.frontend(client, server)
}

// frontend copies the client's messages to the server, counting them. The
// first messages (SSL request, start-up) have no type byte.
func (p *Proxy) frontend(client, server net.Conn) error {
	var hdr [5]byte
	for started := false; !started; {
		if _, err := io.ReadFull(client, hdr[:4]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		body := make([]byte, n-4)
		if _, err := io.ReadFull(client, body); err != nil {
			return err
		}
		// 80877103 asks for SSL, 80877104 for GSS encryption: the
		// server answers and the start-up message follows.
		code := binary.BigEndian.Uint32(body[:4])
		started = code != 80877103 && code != 80877104
		if _, err := server.Write(append(hdr[:4:4], body...)); err != nil {
			return err
		}
	}
	for {
		if _, err := io.ReadFull(client, hdr[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		body := make([]byte, n-4)
		if _, err := io.ReadFull(client, body); err != nil {
			return err
		}
		switch hdr[0] {
		case 'Q', 'E':
			p.n.Add(1)
		}
		if hdr[0] == 'Q' || hdr[0] == 'P' {
			p.mu.Lock()
			if p.capture {
				text := body
				if hdr[0] == 'P' { // statement name, then the text
					if i := indexZero(text); i >= 0 {
						text = text[i+1:]
					}
				}
				if i := indexZero(text); i >= 0 {
					text = text[:i]
				}
				p.texts = append(p.texts, string(text))
			}
			p.mu.Unlock()
		}
		if _, err := server.Write(append(hdr[:5:5], body...)); err != nil {
			return err
		}
	}
}

func indexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}
