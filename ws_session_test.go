package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kproperty/onestop/internal/config"
)

// closed waits for the server to close the socket and returns its close
// code and reason; the socket must close within a few of the server's
// session checks, which the tests set to milliseconds.
func (w *wsClient) closed() (websocket.StatusCode, string) {
	w.t.Helper()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		w.t.Fatal("the socket is still open")
	}
	var ce websocket.CloseError
	if !errors.As(w.err, &ce) {
		w.t.Fatalf("the socket ended without a close frame: %v", w.err)
	}
	return ce.Code, ce.Reason
}

func wantSessionEnded(t *testing.T, w *wsClient) {
	t.Helper()
	code, reason := w.closed()
	if code != 4403 || !strings.Contains(reason, "session has ended") {
		t.Fatalf("closed with %d %q, want 4403 and the session's end", code, reason)
	}
}

const logoutOp = `mutation($t: String!) { logout(refreshToken: $t) }`

// An open websocket stops when its session ends: logging out over HTTP
// closes it with 4403 and a reason, while another session of the same
// person keeps its socket and its events.
func TestLogoutClosesOpenSockets(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.WSSessionCheck = 20 * time.Millisecond })
	lee := s.login(t, "resident.lee")
	phone, tablet := lee, s.login(t, "resident.lee")
	onPhone, onTablet := phone.ws(), tablet.ws()
	onPhone.subscribe("1", nil, nil)
	onTablet.subscribe("1", nil, nil)
	plumbing := lee.categoryID("HV", "plumbing")
	first := lee.submit(plumbing, "Session: shower drain")
	if e := onPhone.event(); e.Request.ID != first.ID {
		t.Fatalf("phone heard %+v", e)
	}
	if e := onTablet.event(); e.Request.ID != first.ID {
		t.Fatalf("tablet heard %+v", e)
	}

	phone.must(logoutOp, map[string]any{"t": phone.refresh}, nil)
	wantSessionEnded(t, onPhone)

	second := tablet.submit(plumbing, "Session: kitchen drain")
	if e := onTablet.event(); e.Request.ID != second.ID {
		t.Fatalf("the other session's socket heard %+v", e)
	}
}

// A refresh token replayed after its grace ends the whole session: every
// socket opened with a token of that session closes, the one opened with
// the rotated pair's token too.
func TestReplayedRefreshClosesOpenSockets(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.WSSessionCheck = 20 * time.Millisecond })
	chan_ := s.login(t, "resident.chan")
	before := chan_.ws()
	before.subscribe("1", nil, nil)
	var p refreshed
	s.anon(t).must(refreshOp, map[string]any{"t": chan_.refresh}, &p)
	rotated := &client{t: t, srv: s, token: p.RefreshToken.AccessToken}
	after := rotated.ws()
	after.subscribe("1", nil, nil)

	s.clock.Advance(11 * time.Second)
	s.anon(t).fails("UNAUTHENTICATED", refreshOp, map[string]any{"t": chan_.refresh})
	wantSessionEnded(t, before)
	wantSessionEnded(t, after)
}

// On another instance, which learns of the logout from the database, the
// socket closes once that instance's cached answer is due again.
func TestLogoutClosesSocketsOnOtherInstances(t *testing.T) {
	a := startServer(t, nil)
	b := startServer(t, func(c *config.Config) { c.WSSessionCheck = 20 * time.Millisecond })
	lee := a.login(t, "resident.lee")
	onB := (&client{t: t, srv: b, token: lee.token}).ws()
	onB.subscribe("1", nil, nil)
	lee.must(logoutOp, map[string]any{"t": lee.refresh}, nil)
	b.clock.Advance(5 * time.Second)
	wantSessionEnded(t, onB)
}
