package dispatch

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/audit"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/person"
)

// rulesStore keeps rules in memory and the entries recorded with them.
type rulesStore struct {
	Store
	rules map[string]Rule
	log   []audit.Entry
}

func (s *rulesStore) Audit(_ context.Context, e audit.Entry) error {
	s.log = append(s.log, e)
	return nil
}

func key(propertyID string, categoryID *string) string {
	if categoryID == nil {
		return propertyID
	}
	return propertyID + "/" + *categoryID
}

func (s *rulesStore) SaveRule(_ context.Context, r Rule, record func(audit.Writer, *Rule) error) error {
	var before *Rule
	if old, ok := s.rules[key(r.PropertyID, r.CategoryID)]; ok {
		before = &old
	}
	s.rules[key(r.PropertyID, r.CategoryID)] = r
	return record(s, before)
}

func (s *rulesStore) RemoveRule(_ context.Context, propertyID string, categoryID *string, record func(audit.Writer, Rule) error) (bool, error) {
	old, ok := s.rules[key(propertyID, categoryID)]
	if !ok {
		return false, nil
	}
	delete(s.rules, key(propertyID, categoryID))
	return true, record(s, old)
}

// A rule set, replaced and removed leaves three entries naming the actor,
// the clock's time and the rule before and after; a refused rule, a
// refused actor and removing a rule that is not there leave none.
func TestRuleChangesAreRecorded(t *testing.T) {
	prop := uuid.NewString()
	at := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	store := &rulesStore{rules: map[string]Rule{}}
	s := NewService(store, clock.NewManual(at))
	mgr := &auth.Actor{PersonID: uuid.NewString(), Staff: map[string]person.Role{prop: person.Manager}}
	agent := &auth.Actor{PersonID: uuid.NewString(), Staff: map[string]person.Role{prop: person.Agent}}
	ctx := context.Background()

	rule := Rule{PropertyID: prop, Mode: Auto, Role: person.Technician, MaxOpenJobs: 3}
	if _, err := s.SetRule(ctx, mgr, rule); err != nil {
		t.Fatal(err)
	}
	rule.MaxOpenJobs = 0
	if _, err := s.SetRule(ctx, mgr, rule); apperr.CodeOf(err) != apperr.InvalidInput {
		t.Fatalf("a cap of 0: %v", err)
	}
	rule.MaxOpenJobs = 4
	if _, err := s.SetRule(ctx, agent, rule); apperr.CodeOf(err) != apperr.Forbidden {
		t.Fatalf("an agent's rule: %v", err)
	}
	if _, err := s.SetRule(ctx, mgr, rule); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.RemoveRule(ctx, mgr, prop, nil); !ok || err != nil {
		t.Fatalf("removed %v, %v", ok, err)
	}
	if ok, err := s.RemoveRule(ctx, mgr, prop, nil); ok || err != nil {
		t.Fatalf("removed again %v, %v", ok, err)
	}
	if len(store.log) != 3 {
		t.Fatalf("%d entries, want 3: %+v", len(store.log), store.log)
	}
	jobs := func(doc []byte) any {
		if doc == nil {
			return nil
		}
		var r map[string]any
		_ = json.Unmarshal(doc, &r)
		return r["maxOpenJobs"]
	}
	for i, want := range []struct {
		action        string
		before, after any
	}{{"setDispatchRule", nil, 3.0}, {"setDispatchRule", 3.0, 4.0}, {"removeDispatchRule", 4.0, nil}} {
		e := store.log[i]
		if e.Action != want.action || jobs(e.Before) != want.before || jobs(e.After) != want.after || e.ActorID != mgr.PersonID ||
			!e.At.Equal(at) || e.EntityID != "default" || *e.PropertyID != prop {
			t.Errorf("entry %d: %+v (before %s, after %s)", i, e, e.Before, e.After)
		}
	}
}
