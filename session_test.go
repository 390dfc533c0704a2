package main

import (
	"sync"
	"testing"
	"time"
)

const refreshOp = `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }`

type refreshed struct {
	RefreshToken struct{ AccessToken, RefreshToken string }
}

// A phone that wakes with ten calls in flight refreshes ten times at once:
// every call gets the same new pair and the session lives on. The same
// token presented again later is a stolen copy and ends the session.
func TestConcurrentRefresh(t *testing.T) {
	s := startServer(t, nil)
	c := s.login(t, "resident.chan")
	var wg sync.WaitGroup
	results := make([]gqlResponse, 10)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.anon(t).do(refreshOp, map[string]any{"t": c.refresh})
		}()
	}
	wg.Wait()
	var first string
	for i, r := range results {
		if len(r.Errors) > 0 {
			t.Fatalf("refresh %d: %+v", i, r.Errors)
		}
		if i == 0 {
			first = string(r.Data)
		} else if string(r.Data) != first {
			t.Fatalf("refresh %d answered %s, refresh 0 %s", i, r.Data, first)
		}
	}
	var p refreshed
	s.anon(t).must(refreshOp, map[string]any{"t": c.refresh}, &p)
	fresh := &client{t: t, srv: s, token: p.RefreshToken.AccessToken}
	fresh.must(`{ me { id } }`, nil, nil)

	s.clock.Advance(11 * time.Second)
	s.anon(t).fails("UNAUTHENTICATED", refreshOp, map[string]any{"t": c.refresh})
	s.anon(t).fails("UNAUTHENTICATED", refreshOp, map[string]any{"t": p.RefreshToken.RefreshToken})
	fresh.fails("UNAUTHENTICATED", `{ me { id } }`, nil)
}

// Logging out ends the session's access tokens too: at once on the
// instance that logged out, within seconds on the others, and at
// websocket connection_init.
func TestLogoutEndsAccessTokens(t *testing.T) {
	a := startServer(t, nil)
	b := startServer(t, nil)
	c := a.login(t, "resident.lee")
	onB := &client{t: t, srv: b, token: c.token}
	onB.must(`{ me { id } }`, nil, nil)

	var out struct{ Logout bool }
	c.must(`mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": c.refresh}, &out)
	if !out.Logout {
		t.Fatal("logout answered false")
	}
	r := c.fails("UNAUTHENTICATED", `{ me { id } }`, nil)
	if r.Errors[0].Message == "" {
		t.Error("no message")
	}
	b.clock.Advance(5 * time.Second)
	onB.fails("UNAUTHENTICATED", `{ me { id } }`, nil)

	ws, _, err := a.dialWS(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	writeMsg(t, ws, wsMsg{Type: "connection_init", Payload: []byte(`{"Authorization":"Bearer ` + c.token + `"}`)})
	if code := closeStatus(t, ws); code != 4403 {
		t.Fatalf("websocket with a logged-out token closed with %d, want 4403", code)
	}
	// Another session of the same person is untouched.
	a.login(t, "resident.lee").must(`{ me { id } }`, nil, nil)
}
