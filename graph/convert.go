package graph

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/graph/model"
	"github.com/kproperty/onestop/graph/scalar"
	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/callback"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
	"github.com/kproperty/onestop/internal/stats"
)

// actor returns the signed-in caller. requireActor has already refused
// anonymous operations, so a nil here means a public mutation asked for a
// private field.
func actor(ctx context.Context) (*auth.Actor, error) {
	if a := auth.ActorFrom(ctx); a != nil {
		return a, nil
	}
	return nil, apperr.New(apperr.Unauthenticated, "sign in first")
}

func payload(s *auth.Session) *model.AuthPayload {
	return &model.AuthPayload{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, ExpiresAt: s.ExpiresAt, Viewer: s.Actor}
}

// encodeCursor makes an opaque list cursor from a row's sort key.
func encodeCursor(r *request.Request) string {
	return base64.RawURLEncoding.EncodeToString([]byte(r.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + r.ID))
}

func decodeCursor(s *string) (*request.Cursor, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	bad := apperr.Invalid("after", "after is not a cursor from this list")
	raw, err := base64.RawURLEncoding.DecodeString(*s)
	if err != nil {
		return nil, bad
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok {
		return nil, bad
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil || t.Before(scalar.MinTime) || !t.Before(scalar.MaxTime) {
		return nil, bad
	}
	// The id goes to PostgreSQL as a uuid: only the form the server wrote
	// into the cursor is one it reads.
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return nil, bad
	}
	return &request.Cursor{CreatedAt: t, ID: id}, nil
}

// encodeRequestCursor makes an opaque request-list cursor from a row's key
// in the list's order. Newest-first cursors keep the form they always had,
// so those already handed out stay good; the other orders name themselves,
// so that a cursor read in one order is refused in another.
func encodeRequestCursor(s request.Sort, r *request.Request) string {
	c := request.CursorOf(s, r)
	if c.Sort == request.ByCreated {
		return encodeCursor(r)
	}
	due := ""
	if c.Due != nil {
		due = c.Due.UTC().Format(time.RFC3339Nano)
	}
	raw := string(c.Sort) + "|" + due + "|" + c.ID
	if c.Sort == request.ByUrgency {
		raw = string(c.Sort) + "|" + strconv.Itoa(c.Rank) + "|" + due + "|" + c.ID
	}
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeRequestCursor reads a request-list cursor in any order, saying
// which; a cursor the list did not make is INVALID_INPUT on after.
func decodeRequestCursor(s *string) (*request.Cursor, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	bad := apperr.Invalid("after", "after is not a cursor from this list")
	raw, err := base64.RawURLEncoding.DecodeString(*s)
	if err != nil {
		return nil, bad
	}
	parts := strings.Split(string(raw), "|")
	c := &request.Cursor{Sort: request.Sort(parts[0])}
	switch {
	case c.Sort == request.ByDue && len(parts) == 3:
	case c.Sort == request.ByUrgency && len(parts) == 4:
		rank, err := strconv.Atoi(parts[1])
		if err != nil || rank < 0 || rank > 3 || strconv.Itoa(rank) != parts[1] {
			return nil, bad
		}
		c.Rank = rank
		parts = parts[1:]
	default:
		c, err := decodeCursor(s)
		if err != nil {
			return nil, err
		}
		c.Sort = request.ByCreated
		return c, nil
	}
	if parts[1] != "" {
		t, err := time.Parse(time.RFC3339Nano, parts[1])
		if err != nil || t.Before(scalar.MinTime) || !t.Before(scalar.MaxTime) {
			return nil, bad
		}
		c.Due = &t
	}
	// As in decodeCursor: only the form the server wrote is read.
	if u, err := uuid.Parse(parts[2]); err != nil || u.String() != parts[2] {
		return nil, bad
	}
	c.ID = parts[2]
	return c, nil
}

func personOrNil(ctx context.Context, r *Resolver, id *string) (*person.Person, error) {
	if id == nil {
		return nil, nil
	}
	p, err := r.loaders(ctx).people.Load(ctx, *id)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func filterOf(f *model.RequestFilter) request.Filter {
	if f == nil {
		return request.Filter{}
	}
	out := request.Filter{Statuses: f.Status, PropertyID: f.PropertyID, AssigneeID: f.AssigneeID, CreatedFrom: f.CreatedFrom, CreatedTo: f.CreatedTo, Pooled: f.Pooled, FollowUpPending: f.FollowUpPending,
		CategoryID: f.CategoryID, UnitID: f.UnitID, BuildingID: f.BuildingID, FirstResponderID: f.FirstResponderID, Channels: f.Channel,
		Breached: f.Breached, Overdue: f.Overdue, Escalated: f.Escalated, OnHold: f.OnHold, Paid: f.Paid, Text: f.Text}
	if f.Sort != nil {
		out.Sort = *f.Sort
	}
	return out
}

// notificationIDs parses notification ids; nil stays nil (all of them).
func notificationIDs(ids []string) ([]int64, error) {
	if ids == nil {
		return nil, nil
	}
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			return nil, apperr.Invalid("ids", "%q is not a notification id", id)
		}
		out = append(out, n)
	}
	return out, nil
}

// notificationCursor reads the after cursor of the inbox: the last id seen.
func notificationCursor(after *string) (int64, error) {
	if after == nil || *after == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(*after, 10, 64)
	if err != nil || n <= 0 {
		return 0, apperr.Invalid("after", "after is not a cursor from this list")
	}
	return n, nil
}

// encodeTaskCursor makes an opaque queue cursor from a task's sort key.
func encodeTaskCursor(t *callback.Task) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.DueAt.UTC().Format(time.RFC3339Nano) + "|" + t.ID))
}

func decodeTaskCursor(s *string) (*callback.TaskCursor, error) {
	c, err := decodeCursor(s)
	if err != nil || c == nil {
		return nil, err
	}
	return &callback.TaskCursor{DueAt: c.CreatedAt, ID: c.ID}, nil
}

func statusCounts(cs []stats.Count) []model.StatusCount {
	out := make([]model.StatusCount, len(cs))
	for i, c := range cs {
		out[i] = model.StatusCount{Status: request.Status(c.Key), Count: c.Count}
	}
	return out
}

// categoryCounts resolves the categories of a count list through the
// operation's loader, so the daily series costs one look-up in all.
func (r *Resolver) categoryCounts(ctx context.Context, cs []stats.Count) ([]model.CategoryCount, error) {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.Key
	}
	cats, err := r.loaders(ctx).categories.LoadAll(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]model.CategoryCount, len(cs))
	for i, c := range cs {
		out[i] = model.CategoryCount{Category: &cats[i], Count: c.Count}
	}
	return out, nil
}

// clockText writes an offset from midnight as HH:MM.
func clockText(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// isoDays writes weekdays as ISO numbers, Monday 1 to Sunday 7.
func isoDays(days []time.Weekday) []int {
	out := make([]int, len(days))
	for i, d := range days {
		out[i] = int(d)
		if d == time.Sunday {
			out[i] = 7
		}
	}
	return out
}

// settingsChange reads the optional arguments of setPromiseSettings.
func settingsChange(open, close *string, days []int, warn *float64, directorAfter *int) (property.SettingsChange, error) {
	var c property.SettingsChange
	parse := func(field string, v *string) (*time.Duration, error) {
		if v == nil {
			return nil, nil
		}
		t, err := time.Parse("15:04", *v)
		if err != nil {
			return nil, apperr.Invalid(field, "%s must be a local time HH:MM", field)
		}
		d := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
		return &d, nil
	}
	var err error
	if c.Open, err = parse("businessOpen", open); err != nil {
		return c, err
	}
	if c.Close, err = parse("businessClose", close); err != nil {
		return c, err
	}
	for _, d := range days {
		if d < 1 || d > 7 {
			return c, apperr.Invalid("businessDays", "business days are 1 (Monday) to 7 (Sunday)")
		}
		c.Days = append(c.Days, time.Weekday(d%7))
	}
	if days != nil && len(days) == 0 {
		c.Days = []time.Weekday{}
	}
	c.WarnFraction = warn
	if directorAfter != nil {
		d := time.Duration(*directorAfter) * time.Minute
		c.DirectorAfter = &d
	}
	return c, nil
}

// categoryOf converts a catalogue entry as the console sends it.
func categoryOf(in model.ServiceCategoryInput) property.Category {
	c := property.Category{
		PropertyID: in.PropertyID, Code: in.Code, Kind: in.Kind, Name: in.Name, NameZh: in.NameZh,
		TargetMinutes: in.CompletionTargetMinutes, Skill: in.Skill, Active: true, CallbackPolicy: property.CallbackAlways,
	}
	if in.Price != nil {
		cents, currency := int64(in.Price.AmountCents), in.Price.Currency
		c.PriceCents, c.Currency = &cents, &currency
	}
	if in.BusinessHoursOnly != nil {
		c.BusinessHoursOnly = *in.BusinessHoursOnly
	}
	if in.CallbackPolicy != nil {
		c.CallbackPolicy = *in.CallbackPolicy
	}
	if in.Active != nil {
		c.Active = *in.Active
	}
	return c
}

// pageInfo describes a forward page of edges. A page asked for with after
// has items before it (at least the one after names), which is all Relay
// asks of hasPreviousPage when paging forward.
func pageInfo[E any](edges []E, cursor func(E) string, more bool, after *string) *model.PageInfo {
	p := &model.PageInfo{HasNextPage: more, HasPreviousPage: after != nil && *after != ""}
	if len(edges) > 0 {
		start, end := cursor(edges[0]), cursor(edges[len(edges)-1])
		p.StartCursor, p.EndCursor = &start, &end
	}
	return p
}

// languageCode is the stored code of a language.
func languageCode(l model.Language) string {
	if l == model.LanguageZhHant {
		return notification.Chinese
	}
	return notification.English
}
