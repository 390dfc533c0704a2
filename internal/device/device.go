// Package device keeps the phones people are signed in on, for pushes, and
// the language each person reads the apps in.
package device

import (
	"context"
	"strings"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/notification"
)

// Platform is a phone's push service.
type Platform string

// The platforms.
const (
	IOS     Platform = "IOS"
	Android Platform = "ANDROID"
)

// Device is a phone registered for pushes under a person's session.
type Device struct {
	Token     string
	PersonID  string
	Platform  Platform
	Session   string
	CreatedAt time.Time
}

// Store keeps devices and languages.
type Store interface {
	// Register stores the device; a token registered before (by anyone)
	// now belongs to this person and session alone.
	Register(ctx context.Context, d Device) error
	// Unregister forgets one of the person's devices and reports whether
	// it was theirs.
	Unregister(ctx context.Context, personID, token string) (bool, error)
	// EndSession forgets the devices registered under a session.
	EndSession(ctx context.Context, personID, session string) error
	SetLanguage(ctx context.Context, personID, language string) error
	Language(ctx context.Context, personID string) (string, error)
}

// Service registers phones and languages.
type Service struct {
	store Store
	clock clock.Clock
}

// NewService returns the device service.
func NewService(store Store, clk clock.Clock) *Service { return &Service{store: store, clock: clk} }

// maxToken bounds a push token: APNs and FCM tokens are a few hundred
// characters.
const maxToken = 4096

func checkToken(token string) (string, error) {
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxToken || strings.ContainsRune(token, 0) {
		return "", apperr.Invalid("token", "token must be 1 to %d characters", maxToken)
	}
	return token, nil
}

// Register records the phone the actor is using, so their notices are
// pushed to it until they log out (or unregister it).
func (s *Service) Register(ctx context.Context, a *auth.Actor, platform Platform, token string) error {
	token, err := checkToken(token)
	if err != nil {
		return err
	}
	if platform != IOS && platform != Android {
		return apperr.Invalid("platform", "platform must be IOS or ANDROID")
	}
	return s.store.Register(ctx, Device{Token: token, PersonID: a.PersonID, Platform: platform, Session: a.Session,
		CreatedAt: s.clock.Now().UTC()})
}

// Unregister stops pushes to one of the actor's phones.
func (s *Service) Unregister(ctx context.Context, a *auth.Actor, token string) (bool, error) {
	token, err := checkToken(token)
	if err != nil {
		return false, err
	}
	return s.store.Unregister(ctx, a.PersonID, token)
}

// LoggedOut forgets the phones registered under the session a refresh
// token belonged to.
func (s *Service) LoggedOut(ctx context.Context, a *auth.Actor, refreshToken string) error {
	session, ok := auth.SessionOf(refreshToken)
	if !ok {
		return nil
	}
	return s.store.EndSession(ctx, a.PersonID, session)
}

// SetLanguage sets the language the actor reads the apps (and pushes) in.
func (s *Service) SetLanguage(ctx context.Context, a *auth.Actor, language string) error {
	if language != notification.English && language != notification.Chinese {
		return apperr.Invalid("language", "language must be en or zh-Hant")
	}
	return s.store.SetLanguage(ctx, a.PersonID, language)
}

// Language is the language the person reads the apps in.
func (s *Service) Language(ctx context.Context, personID string) (string, error) {
	return s.store.Language(ctx, personID)
}
