// Package ratelimit spends allowances: how many calls, login attempts or
// costly reports a key (a person, an address, an account at an address) may
// make. With Redis the allowance is shared by every instance (GCRA, via
// redis_rate); without it, or while Redis is down, each process keeps its
// own (golang.org/x/time/rate).
package ratelimit

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/kproperty/onestop/internal/clock"
)

// Limit is an allowance: Burst at once, refilled at Rate per Period.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// PerMinute is rate calls a minute with the given burst.
func PerMinute(rate, burst int) Limit { return Limit{Rate: rate, Period: time.Minute, Burst: burst} }

// PerHour is rate calls an hour with the given burst.
func PerHour(rate, burst int) Limit { return Limit{Rate: rate, Period: time.Hour, Burst: burst} }

// Result says whether a call was allowed and, if not, when to try again.
type Result struct {
	Allowed    bool
	RetryAfter time.Duration
}

// Limiter spends one unit of a key's allowance per call to Allow. The
// spending is atomic: of many concurrent calls only as many as the
// allowance holds are allowed.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Result, error)
	// Reset gives a key its whole allowance back.
	Reset(ctx context.Context, key string) error
	// Mark remembers a key for ttl (a known device, say); Marked asks.
	Mark(ctx context.Context, key string, ttl time.Duration) error
	Marked(ctx context.Context, key string) (bool, error)
}

// maxKeys bounds the memory a Local limiter holds; past it the state is
// forgotten (a fresh allowance for everyone, no worse than a restart).
const maxKeys = 100000

// Local is a Limiter kept in this process.
type Local struct {
	clock clock.Clock
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
	marks map[string]time.Time
}

// NewLocal returns an in-process limiter on the given clock.
func NewLocal(clk clock.Clock) *Local {
	return &Local{clock: clk, keys: map[string]*rate.Limiter{}, marks: map[string]time.Time{}}
}

// Allow spends one unit of key's allowance.
func (l *Local) Allow(_ context.Context, key string, lim Limit) (Result, error) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	key = key + "\x00" + lim.Period.String()
	rl, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= maxKeys {
			l.keys = map[string]*rate.Limiter{}
		}
		rl = rate.NewLimiter(rate.Every(lim.Period/time.Duration(lim.Rate)), lim.Burst)
		l.keys[key] = rl
	}
	r := rl.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return Result{RetryAfter: d}, nil
	}
	return Result{Allowed: true}, nil
}

// Reset forgets key under every period.
func (l *Local) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.keys {
		if len(k) > len(key) && k[:len(key)] == key && k[len(key)] == 0 {
			delete(l.keys, k)
		}
	}
	return nil
}

// Mark remembers key until ttl has passed.
func (l *Local) Mark(_ context.Context, key string, ttl time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.marks) >= maxKeys {
		l.marks = map[string]time.Time{}
	}
	l.marks[key] = l.clock.Now().Add(ttl)
	return nil
}

// Marked reports whether key was marked and has not expired.
func (l *Local) Marked(_ context.Context, key string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.marks[key]
	return ok && l.clock.Now().Before(until), nil
}
