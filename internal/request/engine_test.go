package request

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/dispatch"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
)

// memTx is the engine's storage in memory: one request, what was staged,
// and which requests were settled. The engine's rules run against it in
// microseconds; the end-to-end tests prove the same on PostgreSQL.
type memTx struct {
	r       Request
	events  []Event
	notes   []notification.Notification
	settled []string
	freed   []string
}

func (m *memTx) Request(_ context.Context, id string) (*Request, error) {
	if id != m.r.ID {
		return nil, apperr.ErrNotFound
	}
	r := m.r
	return &r, nil
}
func (m *memTx) ByClientID(context.Context, string, string) (*Request, error) {
	return nil, apperr.ErrNotFound
}
func (m *memTx) Insert(_ context.Context, r *Request) (bool, error) { m.r = *r; return true, nil }
func (m *memTx) Update(_ context.Context, r *Request) error {
	if r.Version != m.r.Version {
		return ErrStale
	}
	r.Version++
	m.r = *r
	return nil
}
func (m *memTx) Stage(evs []Event, ns []notification.Notification) {
	m.events = append(m.events, evs...)
	m.notes = append(m.notes, ns...)
}
func (m *memTx) QuoteOwed(context.Context, string, string) (bool, error) { return false, nil }
func (m *memTx) SettleObligations(_ context.Context, id string, _ time.Time) error {
	m.settled = append(m.settled, id)
	return nil
}
func (m *memTx) Unit(context.Context, string) (*property.Unit, error) {
	return &property.Unit{ID: unit, PropertyID: prop}, nil
}
func (m *memTx) Property(context.Context, string) (*property.Property, error) {
	return &property.Property{ID: prop, Code: "HV", TimeZone: "Asia/Hong_Kong"}, nil
}
func (m *memTx) Category(context.Context, string) (*property.Category, error) {
	return &property.Category{PropertyID: prop, TargetMinutes: 240, Active: true}, nil
}
func (m *memTx) UnitsOf(context.Context, string) ([]string, error)            { return []string{unit}, nil }
func (m *memTx) NextSequence(context.Context, string, time.Time) (int, error) { return 1, nil }
func (m *memTx) PromiseSettings(context.Context, string) (property.PromiseSettings, error) {
	return property.PromiseSettings{WarnFraction: 0.8}, nil
}
func (m *memTx) StaffRoleAt(context.Context, string, string) (person.Role, bool, error) {
	return person.Technician, true, nil
}
func (m *memTx) StaffWithRole(context.Context, string, ...person.Role) ([]string, error) {
	return []string{agentID}, nil
}
func (m *memTx) CurrentButler(context.Context, string, time.Time) (*string, error) { return nil, nil }
func (m *memTx) DispatchRule(context.Context, string, string) (dispatch.Rule, error) {
	return dispatch.ManualRule, nil
}
func (m *memTx) PickWorker(context.Context, *Request, dispatch.Rule, *string) (*string, error) {
	return nil, nil
}
func (m *memTx) SetAvailability(context.Context, string, dispatch.Availability, *dispatch.Availability) error {
	return nil
}
func (m *memTx) FreeIfIdle(_ context.Context, people []string) error {
	m.freed = append(m.freed, people...)
	return nil
}

// memStore runs every transaction on the one memTx; a failed transaction
// leaves what it staged behind, which the tests do not read.
type memStore struct {
	Reader
	tx *memTx
}

func (s memStore) Places() Places { return s.tx }

func (s memStore) InTx(_ context.Context, fn func(Tx) error) ([]Event, error) {
	before := len(s.tx.events)
	if err := fn(s.tx); err != nil {
		return nil, err
	}
	return s.tx.events[before:], nil
}

// aftercareLog records the engine's calls of the aftercare.
type aftercareLog []string

func (l *aftercareLog) Completed(context.Context, *Work) error {
	*l = append(*l, "completed")
	return nil
}
func (l *aftercareLog) Confirmed(_ context.Context, _ *Work, how EventType) error {
	*l = append(*l, string(how))
	return nil
}

const reqID = "99999999-9999-9999-9999-999999999999"

func newMem(t *testing.T, r Request) (*Service, *memTx, *clock.Manual, *aftercareLog) {
	t.Helper()
	r.ID, r.PropertyID, r.UnitID, r.RequesterID, r.Number = reqID, prop, unit, owner, "HV-20261127-0001"
	if r.Version == 0 {
		r.Version = 1
	}
	tx := &memTx{r: r}
	clk := clock.NewManual(time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC))
	svc := NewService(memStore{tx: tx}, clk, nil, slog.New(slog.DiscardHandler))
	log := &aftercareLog{}
	svc.SetAftercare(log)
	return svc, tx, clk, log
}

func at(t time.Time) *time.Time { return &t }

// Completing on hold: the hold ends as a resume would, its time is added
// to the due time, and only then is the promise's fate decided.
func TestEngineCompletingOnHold(t *testing.T) {
	now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	due := now.Add(-time.Hour) // would be broken without the hold
	svc, tx, _, after := newMem(t, Request{Status: InProgress, Audience: Audience{AssigneeID: ptr(techID)},
		Clock: Clock{DueAt: &due, OnHold: true, HoldSince: at(now.Add(-3 * time.Hour)), HoldUntil: at(now.Add(time.Hour))}})
	r, err := svc.Complete(context.Background(), tech, reqID, "fixed")
	if err != nil {
		t.Fatal(err)
	}
	if r.OnHold || r.HoldUntil != nil || r.HoldSince != nil {
		t.Fatalf("still on hold: %+v", r.Clock)
	}
	if want := due.Add(3 * time.Hour); !r.DueAt.Equal(want) {
		t.Fatalf("due %v, want %v", r.DueAt, want)
	}
	if r.PromiseKept == nil || !*r.PromiseKept {
		t.Fatal("the promise was charged for the hold")
	}
	if len(*after) != 1 || (*after)[0] != "completed" {
		t.Fatalf("aftercare calls %v", *after)
	}
	if len(tx.freed) != 1 || tx.freed[0] != techID {
		t.Fatalf("freed %v", tx.freed)
	}
}

// Whatever row ends a request, the same rule clears what it leaves behind.
func TestEngineEndingClearsEverything(t *testing.T) {
	for _, st := range []Status{Submitted, Accepted, Assigned, InProgress} {
		r := Request{Status: st, Audience: Audience{Pooled: st == Accepted}}
		if st != Submitted {
			r.Clock = Clock{OnHold: true, HoldSince: at(time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)), HoldUntil: at(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))}
		}
		svc, tx, _, _ := newMem(t, r)
		got, err := svc.Cancel(context.Background(), agent, reqID, "duplicate")
		if err != nil {
			t.Fatalf("%s: %v", st, err)
		}
		if got.OnHold || got.HoldUntil != nil || got.Pooled {
			t.Errorf("cancelled from %s: on hold %v until %v, pooled %v", st, got.OnHold, got.HoldUntil, got.Pooled)
		}
		if len(tx.settled) != 1 {
			t.Errorf("cancelled from %s: obligations settled %d times", st, len(tx.settled))
		}
	}
}

// The server's steps obey the table: a planned resume never moves a
// request that is no longer open, and the clock's steps are nobody else's.
func TestEngineSystemStepsObeyTheTable(t *testing.T) {
	for _, st := range []Status{Completed, Confirmed, Closed, Cancelled} {
		for _, a := range []Action{PlannedResume, Warn, Breach, Escalate, AutoAssign} {
			if _, d := LookupSystem(a, reqAt(st)); d == Allowed {
				t.Errorf("%s allowed from %s", a, st)
			}
		}
	}
	for _, a := range []Action{PlannedResume, Warn, Breach, Escalate, Route, AutoAssign, AutoConfirm, Close} {
		for _, who := range []*Request{reqAt(Accepted)} {
			if _, d := Lookup(a, admin, who); d == Allowed {
				t.Errorf("a person may take the system's step %s", a)
			}
		}
	}
}

// Confirmation reaches the aftercare whoever confirms: the customer here,
// the server in the callback noun's auto-confirmation.
func TestEngineConfirmationReachesAftercare(t *testing.T) {
	svc, tx, _, after := newMem(t, Request{Status: Completed})
	five := 5
	if _, err := svc.Confirm(context.Background(), resident, reqID, true, Rating{Overall: &five}, nil); err != nil {
		t.Fatal(err)
	}
	if len(*after) != 1 || (*after)[0] != string(EvConfirmed) {
		t.Fatalf("aftercare calls %v", *after)
	}
	if n := len(tx.events); n != 1 || tx.events[0].Type != EvConfirmed || tx.events[0].Audience.RequesterID != owner {
		t.Fatalf("staged %+v", tx.events)
	}
	w := svc.Work(tx, &tx.r, nil, svc.Now())
	if ok, err := w.System(context.Background(), AutoConfirm, nil, nil); ok || err != nil {
		t.Fatalf("auto-confirming a confirmed request: %v %v", ok, err)
	}
}

// A step that loses a race writes nothing: the version check refuses it.
func TestEngineStaleWriteIsRefused(t *testing.T) {
	svc, tx, _, _ := newMem(t, Request{Status: Accepted})
	tx.r.Version = 7 // someone else moved it after our read
	store := svc.store.(memStore)
	_, err := store.InTx(context.Background(), func(Tx) error {
		r := Request{ID: reqID, Status: Accepted, Version: 6, Audience: Audience{PropertyID: prop}}
		w := svc.Work(tx, &r, ptr(agentID), svc.Now())
		t2, _ := Lookup(Cancel, agent, &r)
		if err := w.Step(context.Background(), t2, ptr(agentID), nil); err != nil {
			return err
		}
		return w.Save(context.Background())
	})
	if apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("stale write: %v", err)
	}
}
