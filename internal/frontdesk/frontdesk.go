// Package frontdesk holds the console's front-desk figures: visitors, the
// 25-second ID hand-back, walk-in answer times, greeting duty coverage and
// post coverage (docs/frontdesk.md defines each).
package frontdesk

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/person"
)

// MaxDays is the longest window the figures cover.
const MaxDays = 400

// Day is one local day's visitors.
type Day struct {
	Date          string `db:"day"`
	Visitors      int    `db:"visitors"`
	PreRegistered int    `db:"pre_registered"`
	WalkIns       int    `db:"walk_ins"`
}

// HandBack is the ID hand-back figure of one group of registrations.
type HandBack struct {
	// Key is the guard's or the post's id; empty for the whole property.
	Key           string   `db:"key"`
	Taken         int      `db:"taken"`
	Returned      int      `db:"returned"`
	MedianSeconds *float64 `db:"median_seconds"`
	P90Seconds    *float64 `db:"p90_seconds"`
	Within        int      `db:"within"`
}

// WithinShare is the share of returned IDs handed back within 25 s.
func (h HandBack) WithinShare() *float64 { return share(h.Within, h.Returned) }

// Answers are the walk-ins and how their households answered.
type Answers struct {
	WalkIns       int      `db:"walk_ins"`
	Admitted      int      `db:"admitted"`
	Declined      int      `db:"declined"`
	Unanswered    int      `db:"unanswered"`
	Pending       int      `db:"pending"`
	MedianSeconds *float64 `db:"median_seconds"`
	P90Seconds    *float64 `db:"p90_seconds"`
}

// Greeting is how the greeting windows went.
type Greeting struct {
	Windows  int `db:"windows"`
	Staffed  int `db:"staffed"`
	Late     int `db:"late"`
	Missed   int `db:"missed"`
	Upcoming int `db:"upcoming"`
}

// PostCoverage is how many of a post's standing windows had a guard
// checked in at their start.
type PostCoverage struct {
	PostID  string
	Windows int
	Covered int
}

// Share is Covered over Windows.
func (p PostCoverage) Share() *float64 { return share(p.Covered, p.Windows) }

// Stats are the front-desk figures of one property over [From, To).
type Stats struct {
	PropertyID string
	From, To   time.Time
	Visitors   int
	PreReg     int
	Days       []Day
	HandBack   HandBack
	ByGuard    []HandBack
	ByPost     []HandBack
	Answers    Answers
	Greeting   Greeting
	Posts      []PostCoverage
}

// PreRegisteredShare is the share of visitors who came with a pass.
func (s Stats) PreRegisteredShare() *float64 { return share(s.PreReg, s.Visitors) }

func share(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	v := float64(n) / float64(of)
	return &v
}

// Standing is one post's standing windows and its guards' check-ins.
type Standing struct {
	PostID   string
	Windows  []string // "07:00-15:00", local
	CheckIns [][2]time.Time
}

// Store reads the figures.
type Store interface {
	Zone(ctx context.Context, propertyID string) (*time.Location, error)
	Visitors(ctx context.Context, propertyID string, from, to time.Time, loc *time.Location) (total, preReg int, days []Day, err error)
	HandBacks(ctx context.Context, propertyID string, from, to time.Time, target time.Duration) (all HandBack, byGuard, byPost []HandBack, err error)
	Answers(ctx context.Context, propertyID string, from, to time.Time) (Answers, error)
	Greeting(ctx context.Context, propertyID string, from, to, now time.Time) (Greeting, error)
	Standing(ctx context.Context, propertyID string, from, to, now time.Time) ([]Standing, error)
}

// Service computes the figures.
type Service struct {
	store  Store
	clock  clock.Clock
	target time.Duration
}

// NewService returns the figures service; target is the ID hand-back limit.
func NewService(store Store, clk clock.Clock, target time.Duration) *Service {
	return &Service{store: store, clock: clk, target: target}
}

// Allowed reports whether the actor reads the property's front-desk
// figures: its managers, director, agents (the console) and admins.
func Allowed(a *auth.Actor, propertyID string) bool {
	if a.Admin {
		return true
	}
	r, ok := a.RoleAt(propertyID)
	return ok && (r == person.Manager || r == person.Director || r == person.Agent)
}

// Stats computes the figures of [from, to).
func (s *Service) Stats(ctx context.Context, a *auth.Actor, propertyID string, from, to time.Time) (Stats, error) {
	if !Allowed(a, propertyID) {
		return Stats{}, apperr.ErrNotFound
	}
	if !to.After(from) {
		return Stats{}, apperr.Invalid("to", "to must be after from")
	}
	if to.Sub(from) > MaxDays*24*time.Hour {
		return Stats{}, apperr.Invalid("to", "at most %d days", MaxDays)
	}
	loc, err := s.store.Zone(ctx, propertyID)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{PropertyID: propertyID, From: from, To: to}
	if st.Visitors, st.PreReg, st.Days, err = s.store.Visitors(ctx, propertyID, from, to, loc); err != nil {
		return Stats{}, err
	}
	if st.HandBack, st.ByGuard, st.ByPost, err = s.store.HandBacks(ctx, propertyID, from, to, s.target); err != nil {
		return Stats{}, err
	}
	if st.Answers, err = s.store.Answers(ctx, propertyID, from, to); err != nil {
		return Stats{}, err
	}
	now := s.clock.Now()
	if st.Greeting, err = s.store.Greeting(ctx, propertyID, from, to, now); err != nil {
		return Stats{}, err
	}
	standing, err := s.store.Standing(ctx, propertyID, from, to, now)
	if err != nil {
		return Stats{}, err
	}
	for _, p := range standing {
		c, err := Cover(p, from, minTime(to, now), loc)
		if err != nil {
			return Stats{}, err
		}
		st.Posts = append(st.Posts, c)
	}
	return st, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Cover counts a post's standing windows that started in [from, to) and
// those with a guard checked in at their start.
func Cover(p Standing, from, to time.Time, loc *time.Location) (PostCoverage, error) {
	out := PostCoverage{PostID: p.PostID}
	f := from.In(loc)
	for d := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc); d.Before(to); d = d.AddDate(0, 0, 1) {
		for _, w := range p.Windows {
			startS, _, ok := strings.Cut(w, "-")
			if !ok {
				return out, fmt.Errorf("standing window %q", w)
			}
			hm, err := time.Parse("15:04", startS)
			if err != nil {
				return out, fmt.Errorf("standing window %q: %w", w, err)
			}
			start := time.Date(d.Year(), d.Month(), d.Day(), hm.Hour(), hm.Minute(), 0, 0, loc)
			if start.Before(from) || !start.Before(to) {
				continue
			}
			out.Windows++
			for _, c := range p.CheckIns {
				if !c[0].After(start) && c[1].After(start) {
					out.Covered++
					break
				}
			}
		}
	}
	return out, nil
}
