package request

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
)

// Get returns a request the actor may see.
func (s *Service) Get(ctx context.Context, a *auth.Actor, id string) (*Request, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, apperr.ErrNotFound
	}
	return s.store.Visible(ctx, a, id)
}

// GetMany returns, by id, those of the requests the actor may see; the
// others are simply absent.
func (s *Service) GetMany(ctx context.Context, a *auth.Actor, ids []string) (map[string]*Request, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, err := uuid.Parse(id); err == nil {
			valid = append(valid, id)
		}
	}
	rows, err := s.store.VisibleMany(ctx, a, valid)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Request, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// MaxPage is the most items any list answers at once.
const MaxPage = 100

// List returns one page of the requests the actor may see, in the
// filter's order (newest first by default), and whether more follow. The
// filters only narrow what the actor may see already; a cursor is good
// only for the order it was read in.
func (s *Service) List(ctx context.Context, a *auth.Actor, f Filter, first int, after *Cursor) ([]*Request, bool, error) {
	if first < 0 || first > MaxPage {
		return nil, false, apperr.Invalid("first", "first must be between 0 and %d", MaxPage)
	}
	f, err := checkFilter(f)
	if err != nil {
		return nil, false, err
	}
	if after != nil && after.Sort.Or() != f.Sort {
		return nil, false, apperr.Invalid("after", "after is not a cursor from this list")
	}
	f.Now = s.clock.Now()
	rows, err := s.store.List(ctx, a, f, first+1, after)
	if err != nil {
		return nil, false, err
	}
	if len(rows) > first {
		return rows[:first], true, nil
	}
	return rows, false, nil
}

// maxSearch is the longest text a list is narrowed by, as in the console's
// search.
const maxSearch = 100

// checkFilter refuses a filter with a malformed id, an unknown status,
// channel or order, or a text that is empty or too long, naming the
// field; it returns the filter with its ids in canonical form and its text
// trimmed.
func checkFilter(f Filter) (Filter, error) {
	for _, id := range []struct {
		field string
		v     **string
	}{{"filter.propertyId", &f.PropertyID}, {"filter.assigneeId", &f.AssigneeID}, {"filter.categoryId", &f.CategoryID}, {"filter.unitId", &f.UnitID}, {"filter.buildingId", &f.BuildingID}, {"filter.firstResponderId", &f.FirstResponderID}} {
		if *id.v == nil {
			continue
		}
		u, err := uuid.Parse(**id.v)
		if err != nil {
			return f, apperr.Invalid(id.field, "%s is not a valid id", id.field)
		}
		canonical := u.String()
		*id.v = &canonical
	}
	for _, st := range f.Statuses {
		if !validStatus(st) {
			return f, apperr.Invalid("filter.status", "unknown status %q", st)
		}
	}
	for _, c := range f.Channels {
		if !c.Valid() {
			return f, apperr.Invalid("filter.channel", "unknown channel %q", c)
		}
	}
	if !f.Sort.Valid() {
		return f, apperr.Invalid("filter.sort", "unknown order %q", f.Sort)
	}
	f.Sort = f.Sort.Or()
	if f.Text != nil {
		text := strings.TrimSpace(*f.Text)
		if n := utf8.RuneCountInString(text); n < 1 || n > maxSearch {
			return f, apperr.Invalid("filter.text", "text must be 1-%d characters", maxSearch)
		}
		f.Text = &text
	}
	return f, nil
}

func validStatus(s Status) bool {
	switch s {
	case Submitted, Accepted, Assigned, InProgress, Completed, Confirmed, Closed, Cancelled:
		return true
	}
	return false
}

// PendingFollowUps reports, for requests already known to be visible, which
// owe a director's follow-up.
func (s *Service) PendingFollowUps(ctx context.Context, ids []string) (map[string]bool, error) {
	return s.store.PendingFollowUps(ctx, ids)
}

// Timelines returns the latest (at most last) events of requests already
// known to be visible, grouped by request id.
func (s *Service) Timelines(ctx context.Context, ids []string, last int) (map[string][]Event, error) {
	evs, err := s.store.EventsOf(ctx, ids, last)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Event, len(ids))
	for _, e := range evs {
		out[e.RequestID] = append(out[e.RequestID], e)
	}
	return out, nil
}

// ViewedTimelines returns the latest (at most last) events of each of the
// requests (already known to be visible to the actor) as the actor may read
// them, and the people who acted in them. The household's filter runs in
// the database before the cut, so a household's last n are the last n it
// may read, as ViewAll and a cut in that order would give.
func (s *Service) ViewedTimelines(ctx context.Context, a *auth.Actor, reqs []*Request, last int) (map[string][]Event, []person.Person, error) {
	ids := make([]string, len(reqs))
	staff := make([]bool, len(reqs))
	audience := make(map[string]Audience, len(reqs))
	out := make(map[string][]Event, len(reqs))
	for i, r := range reqs {
		ids[i], staff[i] = r.ID, SeesInternal(a, r.Audience)
		audience[r.ID] = r.Audience
		out[r.ID] = []Event{}
	}
	evs, people, err := s.store.LatestEvents(ctx, ids, staff, last)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range evs {
		if v, ok := ViewOf(a, audience[e.RequestID], e); ok {
			out[e.RequestID] = append(out[e.RequestID], v)
		}
	}
	return out, people, nil
}
