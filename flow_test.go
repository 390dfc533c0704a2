package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The one-stop flow, end to end over HTTP: a resident asks from the app, the
// service center accepts with a promise and dispatches, the technician does
// the work, the resident confirms and rates it, and the callback closes it.
func TestWholeFlow(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")

	r := chan_.submit(chan_.categoryID("HV", "plumbing"), "Kitchen tap is leaking")
	if r.Status != "SUBMITTED" || r.Channel != "APP" || r.FirstResponder != nil || r.Requester.ID != chan_.id {
		t.Fatalf("submitted request: %+v", r)
	}
	// 10:00 in Hong Kong on 27 November: the local date, not UTC's.
	if !regexp.MustCompile(`^HV-20261127-\d{4}$`).MatchString(r.Number) {
		t.Fatalf("number %q is not HV-20261127-NNNN", r.Number)
	}
	if r.Unit.Code != "B-0805" || r.Property.Code != "HV" {
		t.Fatalf("request filed against %+v", r.Unit)
	}

	promise := s.clock.Now().Add(4 * time.Hour).UTC().Truncate(time.Second)
	r = agent.act(accept, map[string]any{"id": r.ID, "at": promise.Format(time.RFC3339), "note": "plumber this afternoon"})
	if r.Status != "ACCEPTED" || r.PromisedAt == nil || !r.PromisedAt.Equal(promise) {
		t.Fatalf("accepted: %+v", r)
	}
	if r.FirstResponder == nil || r.FirstResponder.ID != agent.id {
		t.Fatalf("the accepting agent should be the first-asker of an app request, got %+v", r.FirstResponder)
	}
	r = agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	if r.Status != "ASSIGNED" || r.Assignee.ID != tech.id {
		t.Fatalf("assigned: %+v", r)
	}
	r = tech.act(start, map[string]any{"id": r.ID})
	r = tech.act(complete, map[string]any{"id": r.ID, "note": "washer replaced"})
	if r.Status != "COMPLETED" {
		t.Fatalf("completed: %+v", r)
	}
	r = chan_.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 5, "comment": "quick and tidy"})
	if r.Status != "CONFIRMED" || r.Rating == nil || r.Rating.Score != 5 || *r.Rating.Comment != "quick and tidy" {
		t.Fatalf("confirmed: %+v", r)
	}
	r = agent.act(callBack, map[string]any{"id": r.ID, "method": "PHONE", "sat": 5, "note": "customer happy"})
	if r.Status != "CLOSED" {
		t.Fatalf("after callback: %+v", r)
	}

	// Every step is on the timeline, in order, with who did it.
	got := chan_.get(r.ID)
	if want := "SUBMITTED ACCEPTED ASSIGNED STARTED COMPLETED CONFIRMED CLOSED"; statuses(got.Timeline) != want {
		t.Fatalf("timeline %q, want %q", statuses(got.Timeline), want)
	}
	actors := []string{chan_.id, agent.id, agent.id, tech.id, tech.id, chan_.id, agent.id}
	for i, e := range got.Timeline {
		if e.Actor == nil || e.Actor.ID != actors[i] {
			t.Errorf("event %d (%s) actor %+v, want %s", i, e.Type, e.Actor, actors[i])
		}
		if i > 0 && e.FromStatus == nil {
			t.Errorf("event %d has no fromStatus", i)
		}
	}
	if n := got.Timeline[1].Note; n == nil || *n != "plumber this afternoon" {
		t.Errorf("accept note lost: %v", n)
	}
	if got.Version != 7 {
		t.Errorf("version %d after 6 changes, want 7", got.Version)
	}
}

// A customer who is not satisfied reopens the request to the same worker.
func TestReopenPath(t *testing.T) {
	s := sharedServer(t)
	lee := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")

	r := lee.submit(lee.categoryID("HV", "electrical"), "Bathroom light flickers")
	agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	tech.act(start, map[string]any{"id": r.ID})
	tech.act(complete, map[string]any{"id": r.ID, "note": "bulb changed"})

	// Rejecting needs a reason, and carries no rating.
	r2 := lee.fails("INVALID_INPUT", confirm, map[string]any{"id": r.ID, "ok": false})
	if r2.field() != "comment" {
		t.Errorf("field %q, want comment", r2.field())
	}
	r = lee.act(confirm, map[string]any{"id": r.ID, "ok": false, "comment": "still flickers"})
	if r.Status != "ASSIGNED" || r.Assignee == nil || r.Assignee.ID != tech.id {
		t.Fatalf("reopened: %+v", r)
	}
	last := r.Timeline[len(r.Timeline)-1]
	if last.Type != "REOPENED" || *last.FromStatus != "COMPLETED" || last.ToStatus != "ASSIGNED" || *last.Note != "still flickers" {
		t.Fatalf("reopen event %+v", last)
	}
	tech.act(start, map[string]any{"id": r.ID})
	tech.act(complete, map[string]any{"id": r.ID, "note": "ballast replaced"})
	r = lee.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 4})
	if r.Status != "CONFIRMED" || r.Rating.Score != 4 {
		t.Fatalf("confirmed after rework: %+v", r)
	}
	if want := "SUBMITTED ACCEPTED ASSIGNED STARTED COMPLETED REOPENED STARTED COMPLETED CONFIRMED"; statuses(r.Timeline) != want {
		t.Fatalf("timeline %q", statuses(r.Timeline))
	}
}

// Staff take a request on a resident's behalf: they become its first-asker
// and stay so through every reassignment.
func TestFirstAskerSurvivesReassignment(t *testing.T) {
	s := sharedServer(t)
	guard := s.login(t, "guard.yip")
	lee := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	butler := s.login(t, "butler.ho")

	var out struct{ SubmitRequest req }
	guard.must(`mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { `+requestFields+` } }`, map[string]any{"in": map[string]any{
		"clientRequestId": uuid.NewString(), "categoryId": agent.categoryID("HV", "cleaning"),
		"description": "Mr Lee asked at the gate: corridor spill", "onBehalfOfResidentId": lee.id, "channel": "WALK_IN",
	}}, &out)
	r := out.SubmitRequest
	if r.Channel != "WALK_IN" || r.Requester.ID != lee.id || r.FirstResponder == nil || r.FirstResponder.ID != guard.id {
		t.Fatalf("on-behalf request: %+v", r)
	}
	agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	r = agent.act(assign, map[string]any{"id": r.ID, "to": butler.id, "note": "butler is closer"})
	if r.FirstResponder.ID != guard.id || r.Assignee.ID != butler.id {
		t.Fatalf("after reassignment: first-asker %+v assignee %+v", r.FirstResponder, r.Assignee)
	}
	if r.Timeline[len(r.Timeline)-1].Type != "REASSIGNED" {
		t.Fatalf("last event %+v, want REASSIGNED", r.Timeline[len(r.Timeline)-1])
	}
	// The resident sees it as theirs; the guard follows it.
	lee.get(r.ID)
	guard.get(r.ID)
	// The technician it was taken from no longer sees it.
	tech.fails("NOT_FOUND", `query($id: ID!) { request(id: $id) { id } }`, map[string]any{"id": r.ID})
}

// Cancelling: the requester before work starts, the center with a reason.
func TestCancel(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")

	r := chan_.submit(chan_.categoryID("HV", "housekeeping"), "Weekly cleaning")
	chan_.fails("INVALID_INPUT", cancel, map[string]any{"id": r.ID, "reason": "  "})
	r = chan_.act(cancel, map[string]any{"id": r.ID, "reason": "no longer needed"})
	if r.Status != "CANCELLED" || *r.CancelReason != "no longer needed" {
		t.Fatalf("cancelled: %+v", r)
	}

	// Once work started, only the service center can cancel.
	r = chan_.submit(chan_.categoryID("HV", "plumbing"), "Drain blocked")
	agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	tech.act(start, map[string]any{"id": r.ID})
	chan_.fails("CONFLICT", cancel, map[string]any{"id": r.ID, "reason": "changed my mind"})
	r = agent.act(cancel, map[string]any{"id": r.ID, "reason": "resident will use own contractor"})
	if r.Status != "CANCELLED" {
		t.Fatalf("center cancel: %+v", r)
	}
}
