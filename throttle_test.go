package main

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/config"
)

const loginOp = `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }`

// behindProxy is a server that believes X-Forwarded-For from loopback, so
// a test can speak from many addresses.
func behindProxy(t *testing.T) *testServer {
	return startServer(t, func(c *config.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
}

func (s *testServer) from(t *testing.T, addr string) *client {
	c := s.anon(t)
	c.from = addr
	return c
}

// Concurrent wrong passwords are each counted before any is checked: of
// sixty at once, no more than the allowance get a password check.
func TestLoginThrottleConcurrent(t *testing.T) {
	s := behindProxy(t)
	var mu sync.Mutex
	codes := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.from(t, "203.0.113.7").do(loginOp, map[string]any{"u": "tech.fung", "p": fmt.Sprint("guess", i)})
			mu.Lock()
			codes[r.code()]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes["UNAUTHENTICATED"] > 10 || codes["UNAUTHENTICATED"]+codes["RATE_LIMITED"] != 60 {
		t.Fatalf("60 concurrent guesses: %v; at most 10 may be checked", codes)
	}
	// And the limit holds at about one a minute afterwards.
	s.clock.Advance(time.Minute)
	s.from(t, "203.0.113.7").fails("UNAUTHENTICATED", loginOp, map[string]any{"u": "tech.fung", "p": "again"})
	r := s.from(t, "203.0.113.7").fails("RATE_LIMITED", loginOp, map[string]any{"u": "tech.fung", "p": "again"})
	if ra, _ := r.Errors[0].Extensions["retryAfter"].(float64); ra < 1 || ra > 60 {
		t.Errorf("retryAfter %v", r.Errors[0].Extensions["retryAfter"])
	}
}

// Someone guessing a guard's password from one place does not keep the
// guard out: he signs in from his own phone, and his known phone stays
// usable even while guesses come from many addresses.
func TestLockoutSparesOwner(t *testing.T) {
	s := behindProxy(t)
	wrong := map[string]any{"u": "guard.yip", "p": "letmein"}
	right := map[string]any{"u": "guard.yip", "p": "demo1234"}
	// The guard's phone has signed in before.
	s.from(t, "198.51.100.20").must(loginOp, right, nil)
	for minute := 0; minute < 3; minute++ {
		for i := 0; i < 10; i++ {
			s.from(t, "203.0.113.9").do(loginOp, wrong)
		}
		s.from(t, "203.0.113.9").fails("RATE_LIMITED", loginOp, right)
		s.from(t, "198.51.100.20").must(loginOp, right, nil)
		s.from(t, "192.0.2.44").must(loginOp, right, nil)
		s.clock.Advance(time.Minute)
	}
	// Guesses from a hundred and fifty addresses spend the account's
	// allowance for unknown places; the known phone is not held up.
	for i := 0; i < 150; i++ {
		s.from(t, fmt.Sprintf("10.9.%d.%d", i/200, i%200+1)).do(loginOp, wrong)
	}
	s.from(t, "10.9.9.9").fails("RATE_LIMITED", loginOp, right)
	s.from(t, "198.51.100.20").must(loginOp, right, nil)
}

// Costly reports are limited per person, and sign-in attempts per address
// across accounts (spraying one password over many usernames).
func TestRateLimits(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.RateLimit = true
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	manager := s.login(t, "manager.cheung")
	stats := `{ serviceStats(from: "2026-11-01T00:00:00Z", to: "2026-11-28T00:00:00Z") { total } }`
	for i := 0; i < 10; i++ {
		manager.must(stats, nil, nil)
	}
	r := manager.fails("RATE_LIMITED", stats, nil)
	if ra, _ := r.Errors[0].Extensions["retryAfter"].(float64); ra < 1 {
		t.Errorf("retryAfter %v", r.Errors[0].Extensions["retryAfter"])
	}
	manager.must(`{ me { id } }`, nil, nil)
	s.login(t, "director.ng").must(stats, nil, nil)
	s.clock.Advance(3 * time.Second)
	manager.must(stats, nil, nil)

	for i := 0; i < 30; i++ {
		s.from(t, "203.0.113.50").fails("UNAUTHENTICATED", loginOp, map[string]any{"u": fmt.Sprint("user", i), "p": "Summer2026"})
	}
	s.from(t, "203.0.113.50").fails("RATE_LIMITED", loginOp, map[string]any{"u": "user31", "p": "Summer2026"})
	s.from(t, "203.0.113.51").fails("UNAUTHENTICATED", loginOp, map[string]any{"u": "user31", "p": "Summer2026"})
}
