// Package redislimit keeps rate-limit allowances in Redis, shared by every
// instance, with GCRA (github.com/go-redis/redis_rate). While Redis cannot
// be reached it falls back to an in-process limiter: limits stay in force
// per instance rather than failing every call.
package redislimit

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/kproperty/onestop/internal/ratelimit"
)

// Limiter implements ratelimit.Limiter on Redis.
type Limiter struct {
	rdb      *redis.Client
	rl       *redis_rate.Limiter
	fallback ratelimit.Limiter
	log      *slog.Logger
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a Redis limiter that falls back to fallback during an outage.
func New(rdb *redis.Client, fallback ratelimit.Limiter, log *slog.Logger) *Limiter {
	return &Limiter{rdb: rdb, rl: redis_rate.NewLimiter(rdb), fallback: fallback, log: log}
}

const prefix = "onestop:limit:"

func periodKey(key string, l ratelimit.Limit) string {
	return prefix + l.Period.String() + ":" + key
}

// Allow spends one unit of key's allowance in Redis, atomically.
func (l *Limiter) Allow(ctx context.Context, key string, lim ratelimit.Limit) (ratelimit.Result, error) {
	res, err := l.rl.Allow(ctx, periodKey(key, lim), redis_rate.Limit{Rate: lim.Rate, Period: lim.Period, Burst: lim.Burst})
	if err != nil {
		l.log.WarnContext(ctx, "rate limit: redis unavailable, limiting in process", "err", err)
		return l.fallback.Allow(ctx, key, lim)
	}
	return ratelimit.Result{Allowed: res.Allowed > 0, RetryAfter: max(res.RetryAfter, 0)}, nil
}

// Reset gives key its allowance back under the usual periods.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	_ = l.fallback.Reset(ctx, key)
	keys := []string{}
	for _, p := range []time.Duration{time.Second, time.Minute, time.Hour} {
		keys = append(keys, "rate:"+prefix+p.String()+":"+key)
	}
	return l.rdb.Del(ctx, keys...).Err()
}

// Mark remembers key in Redis for ttl.
func (l *Limiter) Mark(ctx context.Context, key string, ttl time.Duration) error {
	_ = l.fallback.Mark(ctx, key, ttl)
	return l.rdb.Set(ctx, prefix+"mark:"+key, "1", ttl).Err()
}

// Marked asks Redis (or, during an outage, this process) whether key is
// marked.
func (l *Limiter) Marked(ctx context.Context, key string) (bool, error) {
	n, err := l.rdb.Exists(ctx, prefix+"mark:"+key).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return l.fallback.Marked(ctx, key)
	}
	return n > 0, nil
}
