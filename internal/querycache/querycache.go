// Package querycache keeps the texts of the apps' persisted queries in
// Redis, by hash, so that a phone that registered a query on one instance
// can send only its hash to any other.
package querycache

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// TTL is how long an unused query text is kept. A phone whose hash has
// expired is told so and sends the text again; nothing is lost.
const TTL = 24 * time.Hour

// Redis is a persisted-query cache in Redis.
type Redis struct {
	Client *redis.Client
	// Prefix namespaces the keys (an installation's, say).
	Prefix string
}

// Get returns the query text for a hash. A Redis error reads as a miss:
// the phone then sends the text, which costs one round trip, not a call.
func (r Redis) Get(ctx context.Context, hash string) (string, bool) {
	s, err := r.Client.Get(ctx, r.Prefix+hash).Result()
	if err != nil {
		return "", false
	}
	return s, true
}

// Add stores a query text under its hash.
func (r Redis) Add(ctx context.Context, hash, query string) {
	_ = r.Client.Set(ctx, r.Prefix+hash, query, TTL).Err()
}
