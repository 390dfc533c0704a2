package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
)

// The apps send a query's hash instead of its text (automatic persisted
// queries): an unknown hash is answered PERSISTED_QUERY_NOT_FOUND, the app
// sends hash and text once, and from then on the hash alone works, on any
// instance sharing the Redis.
func TestPersistedQueries(t *testing.T) {
	tweak := withRedis(testRedisURL(), testChannel())
	a, b := startServer(t, tweak), startServer(t, tweak)
	lee := a.login(t, "resident.lee")
	query := `{ me { id } }`
	sum := sha256.Sum256([]byte(query))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	send := func(s *testServer, withText bool) gqlResponse {
		t.Helper()
		body := map[string]any{"extensions": ext}
		if withText {
			body["query"] = query
		}
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/query", bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+lee.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out gqlResponse
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if res := send(a, false); res.code() != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("an unknown hash: %+v", res.Errors)
	}
	if res := send(a, true); len(res.Errors) > 0 {
		t.Fatalf("registering: %+v", res.Errors)
	}
	for _, s := range []*testServer{a, b} {
		res := send(s, false)
		var out struct{ Me struct{ ID string } }
		if len(res.Errors) > 0 || json.Unmarshal(res.Data, &out) != nil || out.Me.ID != lee.id {
			t.Fatalf("the hash alone: %+v %s", res.Errors, res.Data)
		}
	}
}
