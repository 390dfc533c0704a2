package auth

import (
	"sync"
	"time"
)

// sessionCheckTTL is how long an answer to "is this session still open?"
// is reused. A logout on this instance takes effect at once; on another
// instance within this long.
const sessionCheckTTL = 5 * time.Second

// refreshGrace is how long a spent refresh token still returns the pair it
// was traded for. A phone that wakes with several calls in flight sends
// the same token several times at once; that is not a stolen copy.
const refreshGrace = 10 * time.Second

// maxCached bounds each cache below; past it the cache starts afresh.
const maxCached = 50000

type sessionState struct {
	open    bool
	checked time.Time
}

// sessionCache remembers which sessions (refresh token families) are open.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]sessionState
}

func (c *sessionCache) get(id string, now time.Time) (open, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[id]
	if !ok || now.Sub(st.checked) >= sessionCheckTTL || now.Before(st.checked) {
		return false, false
	}
	return st.open, true
}

func (c *sessionCache) put(id string, open bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]sessionState{}
	}
	c.m[id] = sessionState{open: open, checked: now}
}

type recentRefresh struct {
	session *Session
	until   time.Time
}

// refreshCache keeps, for refreshGrace, the pair each refresh token was
// just traded for, keyed by the spent token's hash.
type refreshCache struct {
	mu sync.Mutex
	m  map[string]recentRefresh
}

func (c *refreshCache) get(key string, now time.Time) *Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[key]
	if !ok || !now.Before(r.until) {
		return nil
	}
	return r.session
}

func (c *refreshCache) put(key string, s *Session, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]recentRefresh{}
	}
	for k, r := range c.m {
		if !now.Before(r.until) {
			delete(c.m, k)
		}
		break // one expired entry swept per call keeps this cheap
	}
	c.m[key] = recentRefresh{session: s, until: now.Add(refreshGrace)}
}
