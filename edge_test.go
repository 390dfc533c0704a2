package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/config"
)

const submitOp = `mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { id requester { id } } }`

// Bad input is the client's INVALID_INPUT naming the field, never INTERNAL.
func TestEdgeInput(t *testing.T) {
	s := sharedServer(t)
	t.Run("NUL in text", func(t *testing.T) {
		lee := s.login(t, "resident.lee")
		r := lee.fails("INVALID_INPUT", submitOp, map[string]any{"in": map[string]any{
			"clientRequestId": uuid.NewString(), "categoryId": lee.categoryID("HV", "plumbing"), "description": "tap\x00leak"}})
		if r.field() != "description" {
			t.Errorf("NUL: field %q", r.field())
		}
		lee.fails("INVALID_INPUT", `query($id: ID!) { request(id: $id) { id } }`, map[string]any{"id": "\x00"})
	})
	t.Run("promise in the year 9999", func(t *testing.T) {
		lee := s.login(t, "resident.lee")
		req := lee.submit(lee.categoryID("HV", "plumbing"), "Shower drain")
		agent := s.login(t, "agent.wong")
		if r := agent.fails("INVALID_INPUT", accept, map[string]any{"id": req.ID, "at": "9999-12-31T00:00:00Z"}); r.field() != "at" && r.field() != "promisedAt" {
			t.Errorf("year 9999: field %q", r.field())
		}
	})
	t.Run("price past 2^53", func(t *testing.T) {
		manager := s.login(t, "manager.cheung")
		var me struct {
			Me struct{ Properties []struct{ ID, Code string } }
		}
		manager.must(`{ me { properties { id code } } }`, nil, &me)
		var hv string
		for _, p := range me.Me.Properties {
			if p.Code == "HV" {
				hv = p.ID
			}
		}
		save := `mutation($in: ServiceCategoryInput!) { saveServiceCategory(input: $in) { id } }`
		in := map[string]any{"propertyId": hv, "code": "gold-plating", "kind": "CONTRACTED", "name": "Gold plating", "nameZh": "鍍金",
			"completionTargetMinutes": 600, "price": map[string]any{"amountCents": int64(1<<53 + 1), "currency": "HKD"}}
		if r := manager.fails("INVALID_INPUT", save, map[string]any{"in": in}); r.field() != "price" {
			t.Errorf("huge price: field %q", r.field())
		}
	})
	t.Run("introspection off", func(t *testing.T) {
		lee := s.login(t, "resident.lee")
		r := lee.fails("FORBIDDEN", `{ __schema { types { name } } }`, nil)
		if !strings.Contains(r.Errors[0].Message, "introspection") {
			t.Errorf("message %q", r.Errors[0].Message)
		}
		lee.must(`{ __typename }`, nil, nil)
	})
}

// A clientRequestId retried for a different resident is not the same
// submission: staff taking two residents' requests with one id get
// CONFLICT, not the first resident's request.
func TestClientRequestIDOtherResident(t *testing.T) {
	s := sharedServer(t)
	guard := s.login(t, "guard.yip")
	lee := s.login(t, "resident.lee")
	chan_ := s.login(t, "resident.chan")
	cat := lee.categoryID("HV", "cleaning")
	id := uuid.NewString()
	in := func(resident string) map[string]any {
		return map[string]any{"in": map[string]any{"clientRequestId": id, "categoryId": cat,
			"description": "Spill in the lobby", "onBehalfOfResidentId": resident, "channel": "WALK_IN"}}
	}
	var out struct {
		SubmitRequest struct{ ID string }
	}
	guard.must(submitOp, in(lee.id), &out)
	r := guard.do(submitOp, in(chan_.id))
	if r.code() != "CONFLICT" {
		t.Fatalf("same clientRequestId for another resident: %+v %s", r.Errors, r.Data)
	}
}

// Redis down is not "not ready": live events fall back to polling and
// every mutation works. /readyz says ready, and that it is degraded.
func TestReadyWithRedisDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s := startServer(t, func(c *config.Config) { c.RedisURL = "redis://" + addr + "/0" })
	resp, err := http.Get(s.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "degraded") {
		t.Fatalf("readyz with redis down: %d %q", resp.StatusCode, body)
	}
	lee := s.login(t, "resident.lee")
	lee.submit(lee.categoryID("HV", "plumbing"), "Mutations work without redis")
}

// proxy forwards TCP to PostgreSQL until cut, so a test can take the
// database away from a running server.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// With PostgreSQL unreachable a call fails with UNAVAILABLE, which a
// client may retry, rather than INTERNAL.
func TestDatabaseDownIsUnavailable(t *testing.T) {
	token := sharedServer(t).login(t, "agent.wong").token
	p := newProxy(t, "127.0.0.1:5432")
	url := strings.Replace(testDBURL, "127.0.0.1:5432", p.ln.Addr().String(), 1)
	if url == testDBURL {
		t.Skipf("test database %q is not on 127.0.0.1:5432", testDBURL)
	}
	s := startServer(t, func(c *config.Config) { c.DatabaseURL = url; c.DemoData = false })
	c := &client{t: t, srv: s, token: token}
	c.must(`{ me { id } }`, nil, nil)
	p.cut()
	r := c.do(`{ requests(first: 5) { edges { node { id } } } }`, nil)
	if r.code() != "UNAVAILABLE" && r.code() != "UNAUTHENTICATED" {
		t.Fatalf("database down: %+v", r.Errors)
	}
	if r.code() == "UNAUTHENTICATED" {
		// The token check itself needs the database: it must not read as
		// a bad token either.
		t.Fatalf("database down read as a bad token: %+v", r.Errors)
	}
}
