// Package auth signs people in: password checks, short-lived access tokens
// (JWT), rotating refresh tokens, and the Actor carried in the context.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/singleflight"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/ratelimit"
)

// ErrRefreshInvalid is returned by a Store when a refresh token is unknown,
// expired or already used.
var ErrRefreshInvalid = errors.New("refresh token invalid")

// ErrRefreshJustUsed is returned by a Store when a refresh token was traded
// within the grace period and its session is still open: a retry, not a
// stolen copy, so nothing is revoked.
var ErrRefreshJustUsed = errors.New("refresh token just used")

// RefreshToken is the stored form of a refresh token: only its hash is kept.
type RefreshToken struct {
	PersonID  string
	FamilyID  string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store is what auth needs from storage.
type Store interface {
	// Credentials returns the person and password hash for a username, or
	// apperr.ErrNotFound.
	Credentials(ctx context.Context, username string) (person.Person, string, error)
	// Actor loads a person with their roles and households.
	Actor(ctx context.Context, personID string) (*Actor, error)
	SaveRefreshToken(ctx context.Context, t RefreshToken) error
	// RotateRefreshToken atomically revokes the token with oldHash and saves
	// next in its family. If oldHash was revoked less than grace ago and
	// its family is still open it returns ErrRefreshJustUsed; if it was
	// revoked earlier it revokes the whole family (a stolen token was
	// replayed) and returns ErrRefreshInvalid.
	RotateRefreshToken(ctx context.Context, oldHash []byte, now time.Time, grace time.Duration, next RefreshToken) (personID string, err error)
	// SessionOpen reports whether a refresh token family still has a live
	// token: false once it is logged out or revoked for a replay.
	SessionOpen(ctx context.Context, familyID string, now time.Time) (bool, error)
	// RevokeRefreshToken revokes an active token of the person, reporting
	// whether there was one.
	RevokeRefreshToken(ctx context.Context, personID string, hash []byte, now time.Time) (bool, error)
}

// Config tunes token lifetimes.
type Config struct {
	Secret     []byte
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	// BcryptCost is lowered only by tests and the demo loader's benchmarks.
	BcryptCost int
	// Limiter keeps the login allowances; nil keeps them in process.
	Limiter ratelimit.Limiter
}

// Service issues and checks credentials.
type Service struct {
	store Store
	clock clock.Clock
	cfg   Config
	// dummyHash makes a login for an unknown user cost the same as one with
	// a wrong password, so usernames cannot be discovered by timing.
	dummyHash []byte
	limiter   ratelimit.Limiter
	sessions  sessionCache
	refreshed refreshCache
	flight    singleflight.Group
	socks     sockets
}

// Session is what a successful login or refresh hands to the app.
type Session struct {
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
	Actor        *Actor
}

// NewService returns an auth service.
func NewService(store Store, clk clock.Clock, cfg Config) *Service {
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = 15 * time.Minute
	}
	if cfg.RefreshTTL == 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.DefaultCost
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte("not a real password"), cfg.BcryptCost)
	if cfg.Limiter == nil {
		cfg.Limiter = ratelimit.NewLocal(clk)
	}
	return &Service{store: store, clock: clk, cfg: cfg, dummyHash: dummy, limiter: cfg.Limiter}
}

// HashPassword hashes a password with bcrypt at the given cost.
func HashPassword(password string, cost int) (string, error) {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	return string(h), err
}

var errBadLogin = apperr.New(apperr.Unauthenticated, "invalid username or password")

// maxPasswordLen bounds what is hashed: bcrypt reads only 72 bytes, and a
// longer password is someone testing the server rather than signing in.
const maxPasswordLen = 200

// Login checks a username and password, from the source address the call
// came from, and opens a session. Attempts are limited per account and
// address before anything is hashed (throttle.go).
func (s *Service) Login(ctx context.Context, username, password, source string) (*Session, error) {
	if username == "" || len(username) > 100 {
		return nil, apperr.Invalid("username", "username is required (at most 100 characters)")
	}
	if password == "" || len(password) > maxPasswordLen {
		return nil, apperr.Invalid("password", "password is required (at most %d characters)", maxPasswordLen)
	}
	if err := s.reserveAttempt(ctx, username, source); err != nil {
		return nil, err
	}
	p, hash, err := s.store.Credentials(ctx, username)
	if apperr.CodeOf(err) == apperr.NotFound {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return nil, errBadLogin
	}
	if err != nil {
		return nil, err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return nil, errBadLogin
	}
	s.signedIn(ctx, username, source)
	familyID := newID()
	return s.open(ctx, p.ID, familyID, func(next RefreshToken) (string, error) {
		return p.ID, s.store.SaveRefreshToken(ctx, next)
	})
}

// Refresh trades a refresh token for a new session; the old token stops
// working at once, except that presenting it again within refreshGrace
// returns the same new pair (concurrent calls of a phone that woke up).
// Presented later, it is a stolen copy, and the whole session ends.
func (s *Service) Refresh(ctx context.Context, token string) (*Session, error) {
	old, ok := decodeRefresh(token)
	if !ok {
		return nil, apperr.New(apperr.Unauthenticated, "refresh token is invalid or expired")
	}
	key := string(hashToken(token))
	if sess := s.refreshed.get(key, s.clock.Now()); sess != nil {
		return sess, nil
	}
	v, err, _ := s.flight.Do(key, func() (any, error) {
		if sess := s.refreshed.get(key, s.clock.Now()); sess != nil {
			return sess, nil
		}
		sess, err := s.open(ctx, "", old.family, func(next RefreshToken) (string, error) {
			id, err := s.store.RotateRefreshToken(ctx, hashToken(token), s.clock.Now(), refreshGrace, next)
			switch {
			case errors.Is(err, ErrRefreshJustUsed):
				// Traded moments ago through another instance: its pair
				// is not known here. The session stays open.
				return "", apperr.New(apperr.Unauthenticated, "refresh token was just used; use the pair it was traded for")
			case errors.Is(err, ErrRefreshInvalid):
				s.sessions.put(old.family, false, s.clock.Now())
				return "", apperr.New(apperr.Unauthenticated, "refresh token is invalid or expired")
			}
			return id, err
		})
		if err != nil {
			return nil, err
		}
		s.refreshed.put(key, sess, s.clock.Now())
		return sess, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Session), nil
}

// Logout revokes one refresh token of the actor, and with it the session:
// its access tokens stop working here at once and on other instances
// within sessionCheckTTL.
func (s *Service) Logout(ctx context.Context, actor *Actor, token string) (bool, error) {
	ok, err := s.store.RevokeRefreshToken(ctx, actor.PersonID, hashToken(token), s.clock.Now())
	if ok {
		if parts, valid := decodeRefresh(token); valid {
			s.sessions.put(parts.family, false, s.clock.Now())
		}
	}
	return ok, err
}

// sessionOpen asks whether a session is still open, at most once per
// sessionCheckTTL.
func (s *Service) sessionOpen(ctx context.Context, familyID string) (bool, error) {
	now := s.clock.Now()
	if open, ok := s.sessions.get(familyID, now); ok {
		return open, nil
	}
	open, err := s.store.SessionOpen(ctx, familyID, now)
	if err != nil {
		return false, err
	}
	s.sessions.put(familyID, open, now)
	return open, nil
}

// open makes a refresh token in the family, lets save persist it (and say
// whose it is), then signs the access token.
func (s *Service) open(ctx context.Context, personID, familyID string, save func(RefreshToken) (string, error)) (*Session, error) {
	now := s.clock.Now()
	raw := encodeRefresh(familyID)
	next := RefreshToken{PersonID: personID, FamilyID: familyID, Hash: hashToken(raw), CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
	owner, err := save(next)
	if err != nil {
		return nil, err
	}
	actor, err := s.store.Actor(ctx, owner)
	if err != nil {
		return nil, err
	}
	exp := now.Add(s.cfg.AccessTTL)
	claims := accessClaims{RegisteredClaims: jwt.RegisteredClaims{
		Subject:   owner,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
		Issuer:    issuer,
	}, Session: familyID}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("sign access token: %w", err)
	}
	return &Session{AccessToken: signed, RefreshToken: raw, ExpiresAt: exp, Actor: actor}, nil
}

const issuer = "onestop"

// accessClaims are an access token's claims: whose it is, until when, and
// the session (refresh token family) it belongs to, so that logging out
// ends it before it expires.
type accessClaims struct {
	jwt.RegisteredClaims
	Session string `json:"sid,omitempty"`
}

// Authenticate verifies an access token, checks that its session is still
// open, and loads its actor.
func (s *Service) Authenticate(ctx context.Context, token string) (*Actor, error) {
	var claims accessClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.cfg.Secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.clock.Now),
	)
	if errors.Is(err, jwt.ErrTokenExpired) {
		return nil, apperr.New(apperr.Unauthenticated, "access token expired")
	}
	if err != nil || claims.Subject == "" {
		return nil, apperr.New(apperr.Unauthenticated, "access token is invalid")
	}
	if claims.Session != "" {
		open, err := s.sessionOpen(ctx, claims.Session)
		if err != nil {
			return nil, err
		}
		if !open {
			return nil, apperr.New(apperr.Unauthenticated, "the session has ended; sign in again")
		}
	}
	now := s.clock.Now()
	a, err := s.store.Actor(ctx, claims.Subject)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, apperr.New(apperr.Unauthenticated, "access token is invalid")
	}
	if err != nil {
		return nil, err
	}
	a.TokenLeft = claims.ExpiresAt.Sub(now)
	a.Session = claims.Session
	return a, nil
}

// StillSignedIn reports whether the session that authenticated a is still
// open, from the same brief cache as Authenticate. A long-lived connection
// asks it now and then, so that a logout or a replayed refresh token ends
// the connection too, not only the next call.
func (s *Service) StillSignedIn(ctx context.Context, a *Actor) (bool, error) {
	if a.Session == "" {
		return true, nil
	}
	return s.sessionOpen(ctx, a.Session)
}

// A refresh token is "<family id>.<32 random bytes>", base64url. Carrying the
// family lets a replayed, already-rotated token revoke its whole family.
type refreshParts struct{ family string }

func encodeRefresh(family string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return family + "." + base64.RawURLEncoding.EncodeToString(b)
}

// SessionOf returns the session a refresh token belongs to, if it is one.
func SessionOf(refreshToken string) (string, bool) {
	p, ok := decodeRefresh(refreshToken)
	return p.family, ok
}

func decodeRefresh(token string) (refreshParts, bool) {
	if len(token) < 37 || token[36] != '.' {
		return refreshParts{}, false
	}
	if _, err := uuid.Parse(token[:36]); err != nil {
		return refreshParts{}, false
	}
	return refreshParts{family: token[:36]}, true
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func newID() string { return uuid.NewString() }
