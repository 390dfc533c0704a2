package redislimit

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/ratelimit"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Of many concurrent calls, exactly the burst is allowed, whichever
// instance they reach: the allowance lives in Redis.
func TestSharedAllowance(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	a := New(rdb, ratelimit.NewLocal(clock.Real{}), quiet)
	b := New(rdb, ratelimit.NewLocal(clock.Real{}), quiet)
	key := "test:" + uuid.NewString()
	lim := ratelimit.PerMinute(1, 5)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := a
			if i%2 == 1 {
				l = b
			}
			r, err := l.Allow(context.Background(), key, lim)
			if err != nil {
				t.Error(err)
			}
			if r.Allowed {
				allowed.Add(1)
			} else if r.RetryAfter <= 0 {
				t.Error("refused without a retry time")
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 5 {
		t.Fatalf("%d of 40 allowed, want 5", allowed.Load())
	}
	if err := a.Reset(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if r, _ := b.Allow(context.Background(), key, lim); !r.Allowed {
		t.Fatal("reset did not give the allowance back")
	}
	if err := a.Mark(context.Background(), "m"+key, time.Minute); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Marked(context.Background(), "m"+key); !ok {
		t.Fatal("mark not shared")
	}
}

// With Redis down the limits still hold, per process.
func TestRedisDownFallsBack(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	l := New(rdb, ratelimit.NewLocal(clock.NewManual(time.Now())), quiet)
	lim := ratelimit.PerMinute(1, 2)
	for i, want := range []bool{true, true, false} {
		r, err := l.Allow(context.Background(), "k", lim)
		if err != nil || r.Allowed != want {
			t.Fatalf("call %d: %+v %v", i, r, err)
		}
	}
}
