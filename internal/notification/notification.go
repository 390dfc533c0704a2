// Package notification is every person's inbox: what happened that they
// must know about (a new job, a change to something they first took, a
// promise about to break or broken, an escalation, a customer chasing), kept
// until read, and pushed to their phone.
package notification

import (
	"context"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/clock"
)

// Kind says why a notification was sent.
type Kind string

// The kinds of notification.
const (
	Assigned      Kind = "ASSIGNED"
	StatusChanged Kind = "STATUS_CHANGED"
	Warning       Kind = "WARNING"
	Breach        Kind = "BREACH"
	Escalation    Kind = "ESCALATION"
	Urge          Kind = "URGE"
	Pool          Kind = "POOL"
	// FollowUp tells a director a VIP household is owed their follow-up.
	FollowUp Kind = "FOLLOW_UP"
	// Message tells someone of a new message on a request's thread.
	Message Kind = "MESSAGE"
	// Accepted tells the customer their request was accepted, with the
	// promise time in their property's time zone.
	Accepted Kind = "ACCEPTED"
	// Progress tells the first-asker of a change that moves no status: a
	// transfer, a hold, a resume.
	Progress Kind = "PROGRESS"
	// RatingReplied tells the household that staff answered their rating.
	RatingReplied Kind = "RATING_REPLIED"
	// Booking tells a household and the service center of a booking's
	// change: booked, cancelled, promoted from a waiting list, a reminder.
	Booking Kind = "BOOKING"
)

// Notification is one entry of a person's inbox.
type Notification struct {
	ID        int64      `db:"id" json:"id"`
	PersonID  string     `db:"person_id" json:"personId"`
	Kind      Kind       `db:"kind" json:"kind"`
	RequestID *string    `db:"request_id" json:"requestId,omitempty"`
	Title     string     `db:"title" json:"title"`
	Body      string     `db:"body" json:"body"`
	CreatedAt time.Time  `db:"created_at" json:"createdAt"`
	ReadAt    *time.Time `db:"read_at" json:"readAt,omitempty"`
	// VisitID names the visit a front-desk notification is about.
	VisitID *string `db:"visit_id" json:"visitId,omitempty"`
	// TitleZh is the title in Traditional Chinese, for a person who reads
	// the apps in zh-Hant; empty, the title is used.
	TitleZh string `db:"title_zh" json:"-"`
	// Push is filled only for a push: where it goes and how the gateway
	// shows it.
	Push *Push `db:"-" json:"push,omitempty"`
}

// Push is what the push gateway needs besides the notice itself.
type Push struct {
	// Devices are the phones the person is signed in on.
	Devices []Device `json:"devices"`
	// Language is the person's (en or zh-Hant); Title is in it.
	Language string `json:"language"`
	Title    string `json:"title"`
	// CollapseKey lets the phone show only the latest notice of a request.
	CollapseKey string `json:"collapseKey"`
}

// Device is one phone registered for pushes.
type Device struct {
	Platform string `db:"platform" json:"platform"`
	Token    string `db:"token" json:"token"`
}

// The languages people read the apps in.
const (
	English = "en"
	Chinese = "zh-Hant"
)

// Store is the storage the inbox needs.
type Store interface {
	// List returns up to limit notifications of the person, newest first,
	// with ids below before (0: from the newest).
	List(ctx context.Context, personID string, unreadOnly bool, before int64, limit int) ([]Notification, error)
	UnreadCount(ctx context.Context, personID string) (int, error)
	// MarkRead marks the given notifications of the person read (all of
	// them when ids is nil) and returns how many changed.
	MarkRead(ctx context.Context, personID string, ids []int64, at time.Time) (int, error)
}

// Service reads and clears inboxes. Notifications are written by the
// services whose changes cause them, in the same transaction.
type Service struct {
	store Store
	clock clock.Clock
}

// NewService returns the inbox service.
func NewService(store Store, clk clock.Clock) *Service { return &Service{store: store, clock: clk} }

// MaxPage is the most notifications one page holds.
const MaxPage = 100

// List returns a page of the person's inbox and whether more follow.
func (s *Service) List(ctx context.Context, personID string, first int, before int64, unreadOnly bool) ([]Notification, bool, error) {
	if first < 0 || first > MaxPage {
		return nil, false, apperr.Invalid("first", "first must be between 0 and %d", MaxPage)
	}
	rows, err := s.store.List(ctx, personID, unreadOnly, before, first+1)
	if err != nil {
		return nil, false, err
	}
	if len(rows) > first {
		return rows[:first], true, nil
	}
	return rows, false, nil
}

// UnreadCount returns how many of the person's notifications are unread.
func (s *Service) UnreadCount(ctx context.Context, personID string) (int, error) {
	return s.store.UnreadCount(ctx, personID)
}

// MarkRead marks notifications read; nil ids means all of them. Ids that are
// not the person's are ignored, so nobody can touch another's inbox.
func (s *Service) MarkRead(ctx context.Context, personID string, ids []int64) (int, error) {
	if len(ids) > 1000 {
		return 0, apperr.Invalid("ids", "at most 1000 ids at once")
	}
	return s.store.MarkRead(ctx, personID, ids, s.clock.Now())
}
