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

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/ratelimit"
)

// ErrRefreshInvalid is returned by a Store when a refresh token is unknown,
// expired or already used.
var ErrRefreshInvalid = errors.New("refresh token invalid")

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
	// next in its family. If oldHash was already revoked it revokes the whole
	// family (a stolen token was replayed) and returns ErrRefreshInvalid.
	RotateRefreshToken(ctx context.Context, oldHash []byte, now time.Time, next RefreshToken) (personID string, err error)
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
// working at once.
func (s *Service) Refresh(ctx context.Context, token string) (*Session, error) {
	old, ok := decodeRefresh(token)
	if !ok {
		return nil, apperr.New(apperr.Unauthenticated, "refresh token is invalid or expired")
	}
	return s.open(ctx, "", old.family, func(next RefreshToken) (string, error) {
		id, err := s.store.RotateRefreshToken(ctx, hashToken(token), s.clock.Now(), next)
		if errors.Is(err, ErrRefreshInvalid) {
			return "", apperr.New(apperr.Unauthenticated, "refresh token is invalid or expired")
		}
		return id, err
	})
}

// Logout revokes one refresh token of the actor.
func (s *Service) Logout(ctx context.Context, actor *Actor, token string) (bool, error) {
	return s.store.RevokeRefreshToken(ctx, actor.PersonID, hashToken(token), s.clock.Now())
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
	claims := jwt.RegisteredClaims{
		Subject:   owner,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
		Issuer:    issuer,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("sign access token: %w", err)
	}
	return &Session{AccessToken: signed, RefreshToken: raw, ExpiresAt: exp, Actor: actor}, nil
}

const issuer = "onestop"

// Authenticate verifies an access token and loads its actor.
func (s *Service) Authenticate(ctx context.Context, token string) (*Actor, error) {
	var claims jwt.RegisteredClaims
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
	a, err := s.store.Actor(ctx, claims.Subject)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, apperr.New(apperr.Unauthenticated, "access token is invalid")
	}
	if err != nil {
		return nil, err
	}
	a.TokenLeft = claims.ExpiresAt.Sub(s.clock.Now())
	return a, nil
}

// A refresh token is "<family id>.<32 random bytes>", base64url. Carrying the
// family lets a replayed, already-rotated token revoke its whole family.
type refreshParts struct{ family string }

func encodeRefresh(family string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return family + "." + base64.RawURLEncoding.EncodeToString(b)
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
