package auth

import (
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// throttle limits wrong passwords per username, so that a password cannot
// be guessed by trying many. Only failures spend the allowance: a person
// who signs in correctly, however often, is never held up. It is kept per
// process; with several instances an attacker gets that many times the
// allowance, which still makes guessing hopeless.
type throttle struct {
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	every    time.Duration
	burst    int
}

// maxTracked bounds the memory the throttle holds; past it, the oldest
// state is simply forgotten (a fresh allowance, no worse than a restart).
const maxTracked = 10000

func newThrottle(every time.Duration, burst int) *throttle {
	return &throttle{limiters: map[string]*rate.Limiter{}, every: every, burst: burst}
}

func (t *throttle) limiter(username string) *rate.Limiter {
	key := strings.ToLower(username)
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.limiters[key]
	if !ok {
		if len(t.limiters) >= maxTracked {
			t.limiters = map[string]*rate.Limiter{}
		}
		l = rate.NewLimiter(rate.Every(t.every), t.burst)
		t.limiters[key] = l
	}
	return l
}

// blocked reports whether the username has no failed attempts left, and
// when the next one is allowed.
func (t *throttle) blocked(username string, now time.Time) (bool, time.Time) {
	l := t.limiter(username)
	if l.TokensAt(now) >= 1 {
		return false, time.Time{}
	}
	wait := time.Duration((1 - l.TokensAt(now)) * float64(t.every))
	return true, now.Add(wait)
}

// failed spends one attempt.
func (t *throttle) failed(username string, now time.Time) {
	t.limiter(username).AllowN(now, 1)
}
