package auth

import (
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/kproperty/onestop/internal/apperr"
)

// sockets keeps, per person, how to end each live connection (websocket)
// this instance holds for them, so that access taken away (a move-out, a
// leaver) ends those connections at once.
type sockets struct {
	mu sync.Mutex
	m  map[string][]*watch
}

// watch is one live connection: how to end it, and the timer that ends it
// when its token expires.
type watch struct {
	end   func()
	timer *time.Timer
}

// Watch calls end when ttl has passed (the token that opened a live
// connection of the person expires) or when the person's access is cut
// (Cut), whichever comes first; end may be called more than once and must
// not block. The connection calls stop when it ends, so that it is
// forgotten. A timer rather than a context: a phone's socket holds this
// for as long as it is open, and thousands are.
func (s *Service) Watch(personID string, ttl time.Duration, end func()) (stop func()) {
	w := &watch{end: end, timer: time.AfterFunc(ttl, end)}
	s.socks.mu.Lock()
	if s.socks.m == nil {
		s.socks.m = map[string][]*watch{}
	}
	s.socks.m[personID] = append(s.socks.m[personID], w)
	s.socks.mu.Unlock()
	return func() {
		w.timer.Stop()
		s.socks.mu.Lock()
		defer s.socks.mu.Unlock()
		ws := s.socks.m[personID]
		for i, o := range ws {
			if o == w {
				ws[i] = ws[len(ws)-1]
				ws[len(ws)-1] = nil
				ws = ws[:len(ws)-1]
				break
			}
		}
		if len(ws) == 0 {
			delete(s.socks.m, personID)
		} else {
			s.socks.m[personID] = ws
		}
	}
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
	var ends []func()
	for _, p := range people {
		for _, w := range s.socks.m[p] {
			ends = append(ends, w.end)
		}
	}
	s.socks.mu.Unlock()
	for _, end := range ends {
		end()
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
