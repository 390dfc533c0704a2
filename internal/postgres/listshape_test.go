package postgres

import (
	"strings"
	"testing"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/request"
)

// A list call's statement holds only what its viewer and filter use, so
// that parsing and planning it costs what the call needs; the apps' pages
// are prepared and planned once, with the page size written in; the
// console's rarer combinations and other page sizes are not. (What each
// statement answers is TestListFiltersAndOrders's.)
func TestListStatementHoldsOnlyWhatTheCallUses(t *testing.T) {
	const p = "11111111-1111-1111-1111-111111111111"
	agent := &auth.Actor{PersonID: "a", Staff: map[string]person.Role{p: person.Agent}}
	resident := &auth.Actor{PersonID: "r", Units: []string{"u"}, Staff: map[string]person.Role{}}
	tech := &auth.Actor{PersonID: "t", Staff: map[string]person.Role{p: person.Technician}}
	admin := &auth.Actor{PersonID: "x", Admin: true, Staff: map[string]person.Role{}}
	text, yes, no := "leak", true, false
	for _, c := range []struct {
		name     string
		a        *auth.Actor
		f        request.Filter
		after    bool
		limit    int
		has, not []string
		prepared bool
	}{
		{name: "agent's page", a: agent,
			has: []string{"unnest($4", "unnest($5", "LIMIT 21"},
			not: []string{"unnest($3", "text_hits", "candidates", "follow_ups", "quotes", "$6::text[])", "$12::uuid)", "{", "LIMIT $13"}, prepared: true},
		{name: "agent's page of 7", a: agent, limit: 8,
			has: []string{"LIMIT 8"},
			not: []string{"LIMIT 21", "LIMIT $13"}},
		{name: "resident's page", a: resident,
			has: []string{"unnest($3", "r.requester_id = $2"},
			not: []string{"unnest($4", "unnest($5", "text_hits", "candidates"}, prepared: true},
		{name: "technician's next page by status", a: tech, after: true, f: request.Filter{Statuses: []request.Status{request.Assigned}},
			has: []string{"unnest($5", "r.status = ANY($6", "(r.created_at, r.id) < ($11"},
			not: []string{"unnest($3", "unnest($4", "text_hits"}, prepared: true},
		{name: "agent's search", a: agent, f: request.Filter{Text: &text},
			has: []string{"text_hits", "ILIKE $27"}, not: []string{"candidates"}},
		{name: "agent's owed quotes", a: agent, f: request.Filter{Paid: &no},
			has: []string{"candidates", "q.payment = 'UNPAID'"}, not: []string{"text_hits", "c.on_hold"}},
		{name: "agent's director queue", a: agent, f: request.Filter{FollowUpPending: &yes},
			has: []string{"follow_ups"}, not: []string{"candidates"}},
		{name: "admin's page", a: admin,
			has: []string{"FROM service_requests r JOIN service_categories"}, not: []string{"seen AS", "text_hits"}, prepared: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			driver := ""
			if c.f.Paid != nil && !*c.f.Paid {
				driver = "OWED"
			}
			limit := c.limit
			if limit == 0 {
				limit = 21
			}
			q := listStatement(c.a, c.f, limit, c.after, driver)
			for _, s := range c.has {
				if !strings.Contains(q, s) {
					t.Errorf("statement lacks %q:\n%s", s, q)
				}
			}
			for _, s := range c.not {
				if strings.Contains(q, s) {
					t.Errorf("statement holds %q:\n%s", s, q)
				}
			}
			if got := listPreparable(c.f, limit); got != c.prepared {
				t.Errorf("prepared %v, want %v", got, c.prepared)
			}
		})
	}
}
