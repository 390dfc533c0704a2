package main

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// A UUID is the same id however a client spells it (upper case, as some
// phones write one; in braces; urn:uuid:): each spelling finds the same
// request, retries the same submission, and follows the same request
// live. None is an internal error.
func TestIDSpellings(t *testing.T) {
	s := sharedServer(t)
	lee, agent := s.login(t, "resident.lee"), s.login(t, "agent.wong")
	client := uuid.NewString()
	submit := `mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { id } }`
	in := map[string]any{"clientRequestId": strings.ToUpper(client), "categoryId": lee.categoryID("HV", "plumbing"), "description": "Ids: bath tap"}
	var first, retried struct{ SubmitRequest struct{ ID string } }
	lee.must(submit, map[string]any{"in": in}, &first)
	in["clientRequestId"] = client
	lee.must(submit, map[string]any{"in": in}, &retried)
	id := first.SubmitRequest.ID
	if retried.SubmitRequest.ID != id {
		t.Fatalf("the same clientRequestId in lower case made another request: %s, %s", id, retried.SubmitRequest.ID)
	}
	for _, spelled := range []string{strings.ToUpper(id), "{" + id + "}", "urn:uuid:" + id, strings.ReplaceAll(id, "-", "")} {
		var out struct{ Request *struct{ ID string } }
		lee.must(`query($id: ID!) { request(id: $id) { id } }`, map[string]any{"id": spelled}, &out)
		if out.Request == nil || out.Request.ID != id {
			t.Errorf("request(id: %q) = %+v", spelled, out.Request)
		}
	}
	s.login(t, "tenant.ko").fails("NOT_FOUND", `query($id: ID!) { request(id: $id) { id } }`, map[string]any{"id": "urn:uuid:" + id})

	w := lee.ws()
	upper := strings.ToUpper(id)
	w.subscribe("1", &upper, ptr("0"))
	if e := w.event(); e.Request.ID != id || e.Type != "SUBMITTED" {
		t.Fatalf("following %s from the start heard %+v", upper, e)
	}
	agent.act(accept, map[string]any{"id": id, "at": s.later()})
	if e := w.event(); e.Request.ID != id || e.Type != "ACCEPTED" {
		t.Fatalf("following %s live heard %+v", upper, e)
	}
}

// A list cursor that was not made by the list is INVALID_INPUT on after,
// even when it is shaped like one: its id is not a UUID, or its time is
// outside the API's.
func TestForgedCursors(t *testing.T) {
	s := sharedServer(t)
	agent := s.login(t, "agent.wong")
	for _, raw := range []string{
		"2026-11-27T02:00:00Z|" + strings.Repeat("x", 36),
		"2026-11-27T02:00:00Z|" + strings.Repeat("'", 36),
		"0000-01-01T00:00:00Z|" + uuid.NewString(),
	} {
		after := base64.RawURLEncoding.EncodeToString([]byte(raw))
		for _, q := range []string{
			`query($a: String) { requests(after: $a) { edges { node { id } } } }`,
			`query($a: String) { callbackQueue(after: $a) { edges { node { id } } } }`,
		} {
			if r := agent.fails("INVALID_INPUT", q, map[string]any{"a": after}); r.field() != "after" {
				t.Errorf("%q: %+v", raw, r.Errors)
			}
		}
	}
}
