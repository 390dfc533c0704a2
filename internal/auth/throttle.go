package auth

import (
	"context"
	"strings"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/ratelimit"
)

// Password guessing is slowed per account and source address, so that an
// attacker at one address is held to about one guess a minute while the
// owner signing in from anywhere else is not held up at all:
//
//   - an account at one address: 10 attempts at once, then one a minute;
//   - and 20 an hour, so a patient attacker backs off to one in three minutes;
//   - an account from every address it has never signed in from, together:
//     100 an hour, which bounds guessing from many addresses; addresses the
//     account signed in from in the last 30 days (its known devices) do not
//     count against it and are not limited by it.
//
// An attempt is spent before the password is hashed, atomically, so
// concurrent guesses cannot all slip past a check made before any of them
// was counted. A correct password gives the account's allowance at that
// address back.
var (
	loginPerSource       = ratelimit.PerMinute(1, 10)
	loginPerSourceHourly = ratelimit.PerHour(20, 20)
	loginUnknownSources  = ratelimit.PerHour(100, 100)
)

// knownSourceTTL is how long an address stays known after a sign-in.
const knownSourceTTL = 30 * 24 * time.Hour

func sourceKey(username, source string) string {
	return "login:" + strings.ToLower(username) + "|" + source
}

// reserveAttempt spends one login attempt of the username at source, or
// answers RATE_LIMITED with when to try again.
func (s *Service) reserveAttempt(ctx context.Context, username, source string) error {
	key := sourceKey(username, source)
	known, err := s.limiter.Marked(ctx, "known-"+key)
	if err != nil {
		return err
	}
	limits := []struct {
		key string
		lim ratelimit.Limit
	}{{key, loginPerSource}, {key, loginPerSourceHourly}}
	if !known {
		limits = append(limits, struct {
			key string
			lim ratelimit.Limit
		}{"login:" + strings.ToLower(username), loginUnknownSources})
	}
	for _, l := range limits {
		res, err := s.limiter.Allow(ctx, l.key, l.lim)
		if err != nil {
			return err
		}
		if !res.Allowed {
			return apperr.Limited(res.RetryAfter, "too many sign-in attempts for this account; try again after %s",
				s.clock.Now().Add(res.RetryAfter).UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// signedIn gives the account's allowance at source back and remembers the
// address as one of its known devices.
func (s *Service) signedIn(ctx context.Context, username, source string) {
	key := sourceKey(username, source)
	_ = s.limiter.Reset(ctx, key)
	_ = s.limiter.Mark(ctx, "known-"+key, knownSourceTTL)
}
