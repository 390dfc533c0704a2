package main

import (
	"strings"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/config"
)

func TestLogin(t *testing.T) {
	s := sharedServer(t)
	anon := s.anon(t)
	login := `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken viewer { username role } } }`
	wrong := anon.fails("UNAUTHENTICATED", login, map[string]any{"u": "resident.chan", "p": "wrong"})
	unknown := anon.fails("UNAUTHENTICATED", login, map[string]any{"u": "nobody.here", "p": "wrong"})
	if wrong.Errors[0].Message != unknown.Errors[0].Message {
		t.Errorf("a wrong password (%q) and an unknown user (%q) must read the same", wrong.Errors[0].Message, unknown.Errors[0].Message)
	}
	anon.fails("INVALID_INPUT", login, map[string]any{"u": "", "p": "x"})
	var out struct {
		Login struct {
			Viewer struct{ Username, Role string }
		}
	}
	// Usernames are not case-sensitive.
	anon.must(login, map[string]any{"u": "Agent.Wong", "p": "demo1234"}, &out)
	if out.Login.Viewer.Role != "AGENT" {
		t.Fatalf("viewer %+v", out.Login.Viewer)
	}
	// Everything but login and refreshToken needs a token.
	anon.fails("UNAUTHENTICATED", `{ me { id } }`, nil)
	anon.fails("UNAUTHENTICATED", `mutation { logout(refreshToken: "x") }`, nil)
	anon.fails("UNAUTHENTICATED", `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } logout(refreshToken: "x") }`,
		map[string]any{"u": "admin", "p": "demo1234"})
	bad := s.anon(t)
	bad.token = "not.a.jwt"
	bad.fails("UNAUTHENTICATED", `{ me { id } }`, nil)
}

func TestExpiredToken(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.AccessTTL = 10 * time.Minute })
	c := s.login(t, "resident.lee")
	c.must(`{ me { id } }`, nil, nil)
	s.clock.Advance(11 * time.Minute)
	r := c.fails("UNAUTHENTICATED", `{ me { id } }`, nil)
	if r.Errors[0].Message != "access token expired" {
		t.Errorf("message %q", r.Errors[0].Message)
	}
}

// Refresh tokens rotate: each works once, a replayed one ends the session,
// and logout revokes.
func TestRefreshRotationAndLogout(t *testing.T) {
	s := startServer(t, nil)
	c := s.login(t, "resident.lee")
	refresh := `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }`
	type pair struct {
		RefreshToken struct{ AccessToken, RefreshToken string }
	}
	var p1 pair
	s.anon(t).must(refresh, map[string]any{"t": c.refresh}, &p1)
	// The old one is spent; replaying it (past the few seconds a retry
	// gets) also kills the new one.
	s.clock.Advance(11 * time.Second)
	s.anon(t).fails("UNAUTHENTICATED", refresh, map[string]any{"t": c.refresh})
	s.anon(t).fails("UNAUTHENTICATED", refresh, map[string]any{"t": p1.RefreshToken.RefreshToken})

	c2 := s.login(t, "resident.lee")
	var out struct{ Logout bool }
	c2.must(`mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": c2.refresh}, &out)
	if !out.Logout {
		t.Fatal("logout of an active session answered false")
	}
	s.anon(t).fails("UNAUTHENTICATED", refresh, map[string]any{"t": c2.refresh})
	// Another person's token cannot be logged out.
	c3 := s.login(t, "resident.chan")
	c2 = s.login(t, "resident.lee")
	c2.must(`mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": c3.refresh}, &out)
	if out.Logout {
		t.Fatal("logged out someone else's session")
	}
	s.anon(t).must(refresh, map[string]any{"t": c3.refresh}, nil)
	s.anon(t).fails("UNAUTHENTICATED", refresh, map[string]any{"t": "garbage"})
}

// Guessing passwords is throttled per account; the right password is never
// held up by the person's own successful sign-ins.
func TestLoginThrottle(t *testing.T) {
	s := startServer(t, nil)
	login := `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }`
	for i := 0; i < 20; i++ {
		s.login(t, "agent.siu")
	}
	anon := s.anon(t)
	for i := 0; i < 10; i++ {
		anon.fails("UNAUTHENTICATED", login, map[string]any{"u": "tenant.ko", "p": "guess"})
	}
	r := anon.fails("RATE_LIMITED", login, map[string]any{"u": "TENANT.KO", "p": "demo1234"})
	if r.Errors[0].Message == "" {
		t.Fatal("no message")
	}
	// Other accounts are unaffected, and the allowance comes back.
	s.login(t, "agent.siu")
	s.clock.Advance(time.Minute)
	s.login(t, "tenant.ko")
}

// An oversized request is refused without the server buffering it.
func TestOversizedRequest(t *testing.T) {
	s := sharedServer(t)
	c := s.login(t, "resident.lee")
	huge := strings.Repeat("x", 2<<20)
	r := c.do(`query($x: String) { me { id } }`, map[string]any{"x": huge})
	if len(r.Errors) == 0 {
		t.Fatal("a 2 MB request was accepted")
	}
	if code := r.code(); code != "INVALID_INPUT" {
		t.Fatalf("code %q (%+v)", code, r.Errors)
	}
}
