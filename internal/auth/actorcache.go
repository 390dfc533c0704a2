package auth

import (
	"sync"
	"time"
)

// actorTTL is how long a person's sight (roles, households, portfolio),
// read to authenticate a call, is reused for their next calls. A change
// made through this instance is seen at once (Forget); one made elsewhere
// within this long. Live delivery never relies on it: the hub reads sight
// afresh.
const actorTTL = 2 * time.Second

type cachedActor struct {
	actor *Actor
	read  time.Time
}

// actorCache keeps recently read actors by person id.
type actorCache struct {
	mu sync.Mutex
	m  map[string]cachedActor
}

func (c *actorCache) get(personID string, now time.Time) (*Actor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[personID]
	if !ok || now.Sub(e.read) >= actorTTL || now.Before(e.read) {
		return nil, false
	}
	cp := *e.actor
	return &cp, true
}

func (c *actorCache) put(a *Actor, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]cachedActor{}
	}
	cp := *a
	c.m[a.PersonID] = cachedActor{actor: &cp, read: now}
}

func (c *actorCache) forget(personIDs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range personIDs {
		delete(c.m, id)
	}
}

// Forget drops what this instance remembers of the people's sight, after a
// change to their roles, households or portfolio: their next call reads it
// afresh.
func (s *Service) Forget(personIDs ...string) { s.actors.forget(personIDs) }
