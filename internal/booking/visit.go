package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
)

// VisitInput is a household's booking of a guided visit.
type VisitInput struct {
	ClientRequestID string
	CategoryID      string
	StartsAt        time.Time
	// Minutes is how long the visit lasts (60 when zero).
	Minutes   int
	PartySize int
	Kind      VisitKind
	Note      string
	UnitID    *string
}

// BookGuidedVisit makes a guided-visit request booked for a time: its
// promise is the appointment, and a guide free for the whole of it is
// assigned in the same transaction. PostgreSQL refuses a guide booked
// twice, so two visits racing for the last free guide cannot both have
// them.
func (s *Service) BookGuidedVisit(ctx context.Context, a *auth.Actor, in VisitInput) (*request.Request, error) {
	switch in.Kind {
	case Visit, StudyTour, AssessmentTeam, HeavyItems:
	default:
		return nil, apperr.Invalid("kind", "kind must be VISIT, STUDY_TOUR, ASSESSMENT_TEAM or HEAVY_ITEMS")
	}
	if in.PartySize < 1 || in.PartySize > 50 {
		return nil, apperr.Invalid("partySize", "partySize must be from 1 to 50")
	}
	if in.Minutes == 0 {
		in.Minutes = 60
	}
	if in.Minutes < 15 || in.Minutes > 8*60 {
		return nil, apperr.Invalid("minutes", "a guided visit lasts 15 minutes to 8 hours")
	}
	start := in.StartsAt.UTC()
	end := start.Add(time.Duration(in.Minutes) * time.Minute)
	desc := fmt.Sprintf("Guided visit (%s) for %d", in.Kind, in.PartySize)
	if in.Note != "" {
		desc += ": " + in.Note
	}
	return s.req.Submit(ctx, a, request.SubmitInput{
		ClientRequestID: in.ClientRequestID,
		CategoryID:      in.CategoryID,
		Description:     desc,
		UnitID:          in.UnitID,
		PreferredTime:   &start,
		Appointment:     &request.Appointment{At: start, Until: end},
		Then: func(ctx context.Context, w *request.Work) error {
			r := w.Request()
			cat, err := w.Tx().Category(ctx, r.CategoryID)
			if err != nil {
				return err
			}
			if cat.Kind != property.GuidedVisit {
				return apperr.Invalid("categoryId", "that category is not a guided visit")
			}
			tx := s.store.Tx(w.Tx())
			guide, err := tx.FreeGuide(ctx, r.PropertyID, start, end)
			if err != nil {
				return err
			}
			if guide == nil {
				return apperr.New(apperr.Conflict, "no guide is free at that time; choose another")
			}
			v := &GuidedVisit{RequestID: r.ID, PropertyID: r.PropertyID, Kind: in.Kind, PartySize: in.PartySize,
				StartsAt: start, EndsAt: end, GuideID: *guide}
			if err := tx.InsertGuidedVisit(ctx, v, r.UnitID); err != nil {
				return err
			}
			w.Notify(notification.Booking, fmt.Sprintf("You guide %s at %s", r.Number, start.Format(time.RFC3339)), *guide)
			return nil
		},
	})
}

// GuidedVisitOf returns the visit booked by a request the viewer has
// already been allowed to see, or nil.
func (s *Service) GuidedVisitOf(ctx context.Context, requestID string) (*GuidedVisit, error) {
	v, err := s.store.GuidedVisit(ctx, requestID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, nil
	}
	return v, err
}

// remindAhead is how long before a guided visit its guide and household
// are reminded.
const remindAhead = 24 * time.Hour

// RemindVisits reminds the guide and the household of each guided visit
// starting within a day, once. It is a scheduled job: several instances may
// run it at once, since each locks the visits it reminds with SKIP LOCKED.
func (s *Service) RemindVisits(ctx context.Context) (int, error) {
	now := s.req.Now()
	// Most ticks find nothing: they ask without opening a transaction.
	if due, err := s.store.AnyReminderDue(ctx, now, now.Add(remindAhead)); err != nil || !due {
		return 0, err
	}
	n := 0
	err := s.run(ctx, func(_ request.Tx, tx Tx) error {
		due, err := tx.DueReminders(ctx, now, now.Add(remindAhead), 100)
		if err != nil {
			return err
		}
		for _, r := range due {
			people, err := tx.Residents(ctx, r.UnitID)
			if err != nil {
				return err
			}
			title := fmt.Sprintf("Reminder: guided visit %s at %s", r.Number, r.StartsAt.Format(time.RFC3339))
			tell(tx, now, title, "request "+r.RequestID, append(people, r.GuideID)...)
		}
		n = len(due)
		return nil
	})
	return n, err
}
