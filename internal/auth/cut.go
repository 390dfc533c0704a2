package auth

import (
	"context"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/kproperty/onestop/internal/apperr"
)

// sockets keeps, per person, a cancel function for each live connection
// (websocket) this instance holds for them, so that access taken away
// (a move-out, a leaver) ends those connections at once.
type sockets struct {
	mu   sync.Mutex
	next int
	m    map[string]map[int]context.CancelFunc
}

// Track returns a context for a live connection of the person that ends
// when ctx does, when ttl has passed (the token that opened it expires) or
// when the person's access is cut (Cut). The connection is forgotten when
// the returned context ends.
func (s *Service) Track(ctx context.Context, personID string, ttl time.Duration) context.Context {
	// One context for both ends: a phone's socket holds it as long as it
	// is open.
	ctx, cancel := context.WithTimeout(ctx, ttl)
	s.socks.mu.Lock()
	if s.socks.m == nil {
		s.socks.m = map[string]map[int]context.CancelFunc{}
	}
	s.socks.next++
	n := s.socks.next
	if s.socks.m[personID] == nil {
		s.socks.m[personID] = map[int]context.CancelFunc{}
	}
	s.socks.m[personID][n] = cancel
	s.socks.mu.Unlock()
	context.AfterFunc(ctx, func() {
		s.socks.mu.Lock()
		defer s.socks.mu.Unlock()
		delete(s.socks.m[personID], n)
		if len(s.socks.m[personID]) == 0 {
			delete(s.socks.m, personID)
		}
	})
	return ctx
}

// Cut ends, on this instance and at once, the given sessions (already
// revoked in storage) and every live connection of the people. Other
// instances stop honouring the sessions within sessionCheckTTL, and their
// live streams lose the people's sight at the next delivery, since the
// hub reads sight afresh.
func (s *Service) Cut(people, sessions []string) {
	now := s.clock.Now()
	for _, f := range sessions {
		s.sessions.put(f, false, now)
	}
	s.socks.mu.Lock()
	var cancels []context.CancelFunc
	for _, p := range people {
		for _, c := range s.socks.m[p] {
			cancels = append(cancels, c)
		}
	}
	s.socks.mu.Unlock()
	for _, c := range cancels {
		c()
	}
}

// minPasswordLen is the shortest password a person may choose.
const minPasswordLen = 8

// HashPassword checks a password a person chose and hashes it with the
// service's bcrypt cost.
func (s *Service) HashPassword(password string) (string, error) {
	if utf8.RuneCountInString(password) < minPasswordLen || len(password) > maxPasswordLen {
		return "", apperr.Invalid("password", "a password has %d to %d characters", minPasswordLen, maxPasswordLen)
	}
	return HashPassword(password, s.cfg.BcryptCost)
}

// CheckPassword reports whether password matches a stored hash.
func (s *Service) CheckPassword(hash, password string) bool {
	return len(password) <= maxPasswordLen && bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}
