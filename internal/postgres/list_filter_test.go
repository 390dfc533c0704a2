package postgres_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/postgres/pgtest"
	"github.com/kproperty/onestop/internal/request"
)

// listRow is what the filters and orders read of a request, and the rule
// written again in Go: the list must answer exactly the requests the
// viewer may see that match, in the order's key, page after page.
type listRow struct {
	request.Request
	BuildingID string  `db:"building_id"`
	Quote      *string `db:"quote"`
	Accepted   bool    `db:"accepted"`
	notes      []listNote
}

type listNote struct {
	text     string
	internal bool
}

func contains(s, text string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(text))
}

// matches is the filter as Go.
func (r listRow) matches(a *auth.Actor, f request.Filter) bool {
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, r.Status) ||
		f.CategoryID != nil && r.CategoryID != *f.CategoryID ||
		f.UnitID != nil && r.UnitID != *f.UnitID ||
		f.BuildingID != nil && r.BuildingID != *f.BuildingID ||
		f.PropertyID != nil && r.PropertyID != *f.PropertyID ||
		f.FirstResponderID != nil && (r.FirstResponderID == nil || *r.FirstResponderID != *f.FirstResponderID) ||
		f.AssigneeID != nil && (r.AssigneeID == nil || *r.AssigneeID != *f.AssigneeID) ||
		len(f.Channels) > 0 && !slices.Contains(f.Channels, r.Channel) ||
		f.Breached != nil && (r.BreachedAt != nil) != *f.Breached ||
		f.Escalated != nil && (r.EscalationLevel > 0) != *f.Escalated ||
		f.OnHold != nil && r.OnHold != *f.OnHold ||
		f.Overdue != nil && (r.Running() && !r.DueAt.After(f.Now)) != *f.Overdue {
		return false
	}
	if f.Paid != nil {
		paid := r.Quote != nil && *r.Quote == "PAID" && r.Accepted
		owed := r.Quote != nil && *r.Quote == "UNPAID" && r.Status != request.Cancelled
		if *f.Paid && !paid || !*f.Paid && !owed {
			return false
		}
	}
	if f.Text != nil {
		found := contains(r.Number, *f.Text) || contains(r.Description, *f.Text)
		for _, n := range r.notes {
			if contains(n.text, *f.Text) && (!n.internal || request.SeesInternal(a, r.Audience)) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// before is the order as Go: whether x comes before y.
func before(s request.Sort, x, y *request.Request) bool {
	due := func(r *request.Request) time.Time {
		if r.DueAt == nil {
			return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		return *r.DueAt
	}
	switch s {
	case request.ByDue:
		if !due(x).Equal(due(y)) {
			return due(x).Before(due(y))
		}
		return x.ID < y.ID
	case request.ByUrgency:
		if request.Urgency(x) != request.Urgency(y) {
			return request.Urgency(x) < request.Urgency(y)
		}
		if !due(x).Equal(due(y)) {
			return due(x).Before(due(y))
		}
		return x.ID < y.ID
	}
	if !x.CreatedAt.Equal(y.CreatedAt) {
		return x.CreatedAt.After(y.CreatedAt)
	}
	return x.ID > y.ID
}

// Every filter and every order of the request list, for every demo person,
// read four at a time with each page's cursor, answers exactly the
// requests the visibility rule gives them that the filter (written again in
// Go) keeps, in the order's key: the filters only narrow sight, and each
// order pages without a gap or a repeat, ties on the key included.
func TestListFiltersAndOrders(t *testing.T) {
	ctx := context.Background()
	db := demoDB(t)
	authStore := postgres.NewAuthStore(db)
	store := postgres.NewRequestStore(db)
	now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	svc := request.NewService(store, clk, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))

	actors := map[string]*auth.Actor{}
	var people []struct{ ID, Username string }
	if err := db.Select(&people, `SELECT id, username FROM people`); err != nil {
		t.Fatal(err)
	}
	for _, p := range people {
		a, err := authStore.Actor(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		actors[p.Username] = a
	}
	var staff []string
	if err := db.Select(&staff, `SELECT DISTINCT person_id FROM staff_roles ORDER BY person_id`); err != nil {
		t.Fatal(err)
	}
	var cats []struct{ ID, Code, Property string }
	if err := db.Select(&cats, `SELECT c.id, c.code, p.code AS property FROM service_categories c JOIN properties p ON p.id = c.property_id ORDER BY c.id`); err != nil {
		t.Fatal(err)
	}
	catsAt := func(prop string) []string {
		var out []string
		for _, c := range cats {
			if c.Property == prop {
				out = append(out, c.ID)
			}
		}
		return out
	}

	// Requests of each household, then given every state the filters
	// read, drawn from a fixed seed; some share a creation or due time so
	// that the orders' ties are paged through too.
	rnd := rand.New(rand.NewPCG(18, 2026))
	descriptions := []string{"Kitchen tap drips", "廚房水龍頭漏水，櫃子濕了", "Aircon is noisy", "冷氣機有異聲", "Lift button stuck"}
	notes := []listNote{{"Replaced the washer", false}, {"已更換水龍頭墊圈", false}, {"住戶要求夜間上門", true}, {"Resident was rude on the phone", true}}
	statuses := []request.Status{request.Submitted, request.Accepted, request.Assigned, request.InProgress, request.Completed, request.Confirmed, request.Closed, request.Cancelled}
	channels := []request.Channel{request.App, request.Phone, request.WalkIn, request.Visit, request.Staff}
	for i := range 60 {
		who, prop := []string{"resident.chan", "resident.lee", "tenant.ko"}[i%3], []string{"HV", "HV", "KT"}[i%3]
		r, err := svc.Submit(ctx, actors[who], request.SubmitInput{ClientRequestID: uuid.NewString(), CategoryID: catsAt(prop)[0],
			Description: descriptions[rnd.IntN(len(descriptions))]})
		if err != nil {
			t.Fatal(err)
		}
		pick := func(ids []string) *string {
			if rnd.IntN(3) == 0 {
				return nil
			}
			return &ids[rnd.IntN(len(ids))]
		}
		var due *time.Time
		if rnd.IntN(4) > 0 {
			d := now.Add(time.Duration(rnd.IntN(9)-4) * time.Hour)
			due = &d
		}
		var breached *time.Time
		if rnd.IntN(4) == 0 {
			breached = &now
		}
		created := now.Add(-time.Duration(rnd.IntN(40)) * time.Hour)
		if _, err := db.Exec(`UPDATE service_requests SET status = $2, category_id = $3, channel = $4, due_at = $5, breached_at = $6,
	escalation_level = $7, on_hold = $8, first_responder_id = $9, assignee_id = $10, created_at = $11 WHERE id = $1`,
			r.ID, statuses[rnd.IntN(len(statuses))], catsAt(prop)[rnd.IntN(len(catsAt(prop)))], channels[rnd.IntN(len(channels))], due, breached,
			rnd.IntN(3)/2, rnd.IntN(5) == 0, pick(staff), pick(staff), created); err != nil {
			t.Fatal(err)
		}
		switch rnd.IntN(5) {
		case 0:
			_, err = db.Exec(`INSERT INTO quotes (request_id, unit_price_cents, quantity, amount_cents, currency, quoted_by, quoted_at, accepted_by, accepted_at, payment)
SELECT id, 100, 1, 100, 'HKD', requester_id, $2, requester_id, $2, 'PAID' FROM service_requests WHERE id = $1`, r.ID, now)
		case 1:
			_, err = db.Exec(`INSERT INTO quotes (request_id, unit_price_cents, quantity, amount_cents, currency, quoted_by, quoted_at, payment)
SELECT id, 100, 1, 100, 'HKD', requester_id, $2, 'UNPAID' FROM service_requests WHERE id = $1`, r.ID, now)
		case 2:
			_, err = db.Exec(`INSERT INTO quotes (request_id, unit_price_cents, quantity, amount_cents, currency, quoted_by, quoted_at, accepted_by, accepted_at, payment)
SELECT id, 100, 1, 100, 'HKD', requester_id, $2, requester_id, $2, 'WAIVED' FROM service_requests WHERE id = $1`, r.ID, now)
		}
		if err != nil {
			t.Fatal(err)
		}
		if n := notes[rnd.IntN(len(notes))]; rnd.IntN(2) == 0 {
			if _, err := db.Exec(`INSERT INTO request_events (request_id, type, to_status, note, at, property_id, unit_id, requester_id, internal, note_internal)
SELECT id, 'MESSAGE', status, $2, $3, property_id, unit_id, requester_id, $4, $4 FROM service_requests WHERE id = $1`, r.ID, n.text, now, n.internal); err != nil {
				t.Fatal(err)
			}
		}
	}

	var rows []listRow
	if err := db.Select(&rows, `SELECT r.id, r.number, r.property_id, r.unit_id, r.category_id, r.requester_id, r.first_responder_id, r.assignee_id,
	r.channel, r.status, r.description, r.created_at, r.due_at, r.breached_at, r.escalation_level, r.on_hold, r.pooled, u.building_id,
	q.payment AS quote, q.accepted_at IS NOT NULL AS accepted
FROM service_requests r JOIN units u ON u.id = r.unit_id LEFT JOIN quotes q ON q.request_id = r.id`); err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		var ns []struct {
			Note     string `db:"note"`
			Internal bool   `db:"note_internal"`
		}
		if err := db.Select(&ns, `SELECT note, note_internal FROM request_events WHERE request_id = $1 AND note IS NOT NULL`, rows[i].ID); err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			rows[i].notes = append(rows[i].notes, listNote{n.Note, n.Internal})
		}
	}
	if len(rows) < 60 {
		t.Fatalf("only %d requests", len(rows))
	}

	tr, fa := true, false
	text := func(s string) *string { return &s }
	filters := map[string]request.Filter{
		"none":          {},
		"category":      {CategoryID: &rows[0].CategoryID},
		"unit":          {UnitID: &rows[1].UnitID},
		"building":      {BuildingID: &rows[2].BuildingID},
		"firstAsker":    {FirstResponderID: &staff[0]},
		"channels":      {Channels: []request.Channel{request.Phone, request.WalkIn}},
		"breached":      {Breached: &tr},
		"notBreached":   {Breached: &fa},
		"escalated":     {Escalated: &tr},
		"onHold":        {OnHold: &tr},
		"notOnHold":     {OnHold: &fa},
		"overdue":       {Overdue: &tr},
		"notOverdue":    {Overdue: &fa},
		"paid":          {Paid: &tr},
		"unpaid":        {Paid: &fa},
		"textEnglish":   {Text: text("WASHER")},
		"textChinese":   {Text: text("水龍頭")},
		"textShort":     {Text: text("漏水")},
		"textStaff":     {Text: text("夜間上門")},
		"textRude":      {Text: text("rude")},
		"number":        {Text: text(rows[3].Number)},
		"likeChars":     {Text: text("%_")},
		"openOverdue":   {Statuses: []request.Status{request.Accepted, request.Assigned, request.InProgress}, Overdue: &tr},
		"hvPhoneUnpaid": {PropertyID: &rows[0].PropertyID, Channels: []request.Channel{request.Phone}, Paid: &fa},
	}
	// Everyone is read unfiltered; the filters are read by one person of
	// each way of seeing requests, to keep the test quick.
	viewers := []string{"resident.chan", "tenant.ko", "agent.wong", "tech.lam", "butler.ho", "director.ng", "admin"}
	found := map[string]int{}
	for fname, f := range filters {
		for _, s := range []request.Sort{request.ByCreated, request.ByDue, request.ByUrgency} {
			f.Sort, f.Now = s, now
			for name, a := range actors {
				if fname != "none" && !slices.Contains(viewers, name) {
					continue
				}
				var want []*request.Request
				for i := range rows {
					if request.Visible(a, rows[i].Audience) && rows[i].matches(a, f) {
						want = append(want, &rows[i].Request)
					}
				}
				slices.SortFunc(want, func(x, y *request.Request) int {
					if before(s, x, y) {
						return -1
					}
					return 1
				})
				found[fname] += len(want)
				var got []*request.Request
				var after *request.Cursor
				for page := 0; ; page++ {
					out, more, err := svc.List(ctx, a, f, 4, after)
					if err != nil {
						t.Fatalf("%s, %s, %s: %v", fname, s, name, err)
					}
					got = append(got, out...)
					if !more {
						break
					}
					if page > 40 {
						t.Fatalf("%s, %s, %s: no end", fname, s, name)
					}
					c := request.CursorOf(s, out[len(out)-1])
					after = &c
				}
				if ids(got) != ids(want) {
					t.Errorf("%s in order %s for %s:\n got %s\nwant %s", fname, s, name, ids(got), ids(want))
				}
			}
		}
	}
	// Each filter keeps something for someone, and leaves something out,
	// or the comparison above proves little; the text of LIKE's own
	// wildcards finds nothing, as it is in no request.
	for fname := range filters {
		if fname == "likeChars" {
			if found[fname] != 0 {
				t.Errorf("%%_ found %d requests", found[fname])
			}
			continue
		}
		if fname != "none" && (found[fname] == 0 || found[fname] >= found["none"]) {
			t.Errorf("filter %s keeps %d of %d", fname, found[fname], found["none"])
		}
	}
}

func ids(rs []*request.Request) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s ", r.ID[:8])
	}
	return b.String()
}

// A list refuses, naming the field, a malformed id, an unknown channel or
// order, a text too short or too long, and a cursor read in another order.
func TestListRefusesBadFilters(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t, dbURL)
	store := postgres.NewRequestStore(db)
	svc := requestService(store)
	a := &auth.Actor{PersonID: uuid.NewString()}
	bad := "not-an-id"
	long := strings.Repeat("漏", 101)
	blank := "  "
	some := &request.Cursor{Sort: request.ByDue, ID: uuid.NewString()}
	for _, c := range []struct {
		field string
		f     request.Filter
		after *request.Cursor
	}{
		{"filter.categoryId", request.Filter{CategoryID: &bad}, nil},
		{"filter.unitId", request.Filter{UnitID: &bad}, nil},
		{"filter.buildingId", request.Filter{BuildingID: &bad}, nil},
		{"filter.firstResponderId", request.Filter{FirstResponderID: &bad}, nil},
		{"filter.channel", request.Filter{Channels: []request.Channel{"FAX"}}, nil},
		{"filter.sort", request.Filter{Sort: "PRICE"}, nil},
		{"filter.text", request.Filter{Text: &long}, nil},
		{"filter.text", request.Filter{Text: &blank}, nil},
		{"after", request.Filter{}, some},
		{"after", request.Filter{Sort: request.ByUrgency}, some},
	} {
		_, _, err := svc.List(ctx, a, c.f, 10, c.after)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.InvalidInput || e.Field != c.field {
			t.Errorf("%+v: %v, want INVALID_INPUT on %s", c.f, err, c.field)
		}
	}
	// Any spelling of a UUID is the same id.
	upper := strings.ToUpper(uuid.NewString())
	if _, _, err := svc.List(ctx, a, request.Filter{CategoryID: &upper}, 10, nil); err != nil {
		t.Errorf("an upper-case id: %v", err)
	}
}
