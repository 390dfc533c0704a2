package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/config"
	"github.com/kproperty/onestop/internal/postgres/pgtest"
)

// testDBURL is this package's own database, made fresh by TestMain.
var testDBURL string

func TestMain(m *testing.M) {
	flag.Parse()
	// The lifecycle's property test walks 30 random request lives in an
	// ordinary run, to keep `make test` quick; -rapid.checks=N asks for more.
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if f := flag.Lookup("rapid.checks"); f != nil && !set {
		_ = f.Value.Set("30")
	}
	os.Exit(pgtest.Run(m, &testDBURL))
}

// testServer is a full server, as `make run` builds it, on a loopback port,
// with a clock the test moves.
type testServer struct {
	*httptest.Server
	app   *App
	clock *clock.Manual
}

// testEpoch is a fixed "now" for the servers under test: 2026-11-27 10:00 in
// Hong Kong, so local dates in request numbers are predictable.
var testEpoch = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

var (
	sharedOnce sync.Once
	shared     *testServer
)

// sharedServer returns one server for the tests that need no special
// configuration; each test makes its own requests, so they do not collide.
func sharedServer(t *testing.T) *testServer {
	t.Helper()
	sharedOnce.Do(func() { shared = newTestServer(t, nil) })
	if shared == nil {
		t.Fatal("shared server failed to start")
	}
	return shared
}

// startServer starts a server of the test's own on the package database.
// tweak may adjust the configuration first.
func startServer(t testing.TB, tweak func(*config.Config)) *testServer {
	t.Helper()
	ts := newTestServer(t, tweak)
	t.Cleanup(func() { ts.Close(); ts.app.Close() })
	return ts
}

func newTestServer(t testing.TB, tweak func(*config.Config)) *testServer {
	t.Helper()
	cfg := config.Config{
		DatabaseURL: testDBURL,
		JWTSecret:   "test-secret-test-secret-test-secret!",
		DemoData:    true,
		AccessTTL:   15 * time.Minute,
		// The lowest cost bcrypt allows: these are throwaway passwords.
		PasswordCost: 4,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	clk := clock.NewManual(testEpoch)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	app, err := newApp(context.Background(), cfg, clk, log)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	return &testServer{Server: httptest.NewServer(app.Handler), app: app, clock: clk}
}

// gqlError is one error of a GraphQL response.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// gqlResponse is a decoded GraphQL response.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// code returns the first error's extensions.code, or "" with no error.
func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func (r gqlResponse) field() string {
	if len(r.Errors) == 0 {
		return ""
	}
	f, _ := r.Errors[0].Extensions["field"].(string)
	return f
}

// client is one signed-in app (or an anonymous one, with no token).
type client struct {
	t     testing.TB
	srv   *testServer
	token string
	id    string
	// refresh is the refresh token from login.
	refresh string
	// from, when set, is sent as X-Forwarded-For: the caller's address
	// behind a trusted proxy.
	from string
}

func (s *testServer) anon(t testing.TB) *client { return &client{t: t, srv: s} }

// login signs a demo account in.
func (s *testServer) login(t testing.TB, username string) *client {
	t.Helper()
	c := s.anon(t)
	var out struct {
		Login struct {
			AccessToken  string
			RefreshToken string
			Viewer       struct{ ID string }
		}
	}
	c.must(`mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken viewer { id } } }`,
		map[string]any{"u": username, "p": "demo1234"}, &out)
	c.token, c.id, c.refresh = out.Login.AccessToken, out.Login.Viewer.ID, out.Login.RefreshToken
	return c
}

// do sends one GraphQL operation over HTTP.
func (c *client) do(query string, vars map[string]any) gqlResponse {
	c.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, c.srv.URL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.from != "" {
		req.Header.Set("X-Forwarded-For", c.from)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("POST /query: %v", err)
	}
	defer resp.Body.Close()
	var out gqlResponse
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatalf("decode %q: %v", raw, err)
	}
	return out
}

// must sends an operation, fails the test on any error, and decodes data
// into out (if not nil).
func (c *client) must(query string, vars map[string]any, out any) {
	c.t.Helper()
	r := c.do(query, vars)
	if len(r.Errors) > 0 {
		c.t.Fatalf("unexpected errors: %+v\nquery: %s", r.Errors, query)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			c.t.Fatalf("decode data %s: %v", r.Data, err)
		}
	}
}

// fails sends an operation that must fail with the given code.
func (c *client) fails(code string, query string, vars map[string]any) gqlResponse {
	c.t.Helper()
	r := c.do(query, vars)
	if r.code() != code {
		c.t.Fatalf("want error %s, got %+v (data %s)\nquery: %s", code, r.Errors, r.Data, query)
	}
	return r
}

// requestFields is what the tests read of a request.
const requestFields = `id number status version channel description promisedAt
	requester { id } firstResponder { id } assignee { id } unit { id code } property { code }
	rating { score comment } cancelReason
	timeline { id type fromStatus toStatus actor { id } note }`

type event struct {
	ID         string
	Type       string
	FromStatus *string
	ToStatus   string
	Actor      *struct{ ID string }
	Note       *string
}

type req struct {
	ID             string
	Number         string
	Status         string
	Version        int
	Channel        string
	Description    string
	PromisedAt     *time.Time
	Requester      struct{ ID string }
	FirstResponder *struct{ ID string }
	Assignee       *struct{ ID string }
	Unit           struct{ ID, Code string }
	Property       struct{ Code string }
	Rating         *struct {
		Score   int
		Comment *string
	}
	CancelReason *string
	Timeline     []event
}

// categoryID returns a demo category's id at a property.
func (c *client) categoryID(propertyCode, code string) string {
	c.t.Helper()
	var out struct {
		ServiceCategories []struct {
			ID, Code string
			Property struct{ Code string }
		}
	}
	c.must(`{ serviceCategories { id code property { code } } }`, nil, &out)
	for _, cat := range out.ServiceCategories {
		if cat.Code == code && cat.Property.Code == propertyCode {
			return cat.ID
		}
	}
	c.t.Fatalf("no category %s at %s in %+v", code, propertyCode, out)
	return ""
}

// submit makes a request from a resident's own app.
func (c *client) submit(category, description string) req {
	c.t.Helper()
	var out struct{ SubmitRequest req }
	c.must(`mutation($in: SubmitRequestInput!) { submitRequest(input: $in) { `+requestFields+` } }`,
		map[string]any{"in": map[string]any{"clientRequestId": uuid.NewString(), "categoryId": category, "description": description}}, &out)
	return out.SubmitRequest
}

// act runs a lifecycle mutation that must succeed and returns the request.
func (c *client) act(mutation string, vars map[string]any) req {
	c.t.Helper()
	var out map[string]req
	c.must(mutation, vars, &out)
	for _, r := range out {
		return r
	}
	c.t.Fatalf("no data from %s", mutation)
	return req{}
}

// get reads one request.
func (c *client) get(id string) req {
	c.t.Helper()
	var out struct{ Request req }
	c.must(`query($id: ID!) { request(id: $id) { `+requestFields+` } }`, map[string]any{"id": id}, &out)
	return out.Request
}

func mutation(name, args string) string {
	return fmt.Sprintf("mutation%s { %s { %s } }", args, name, requestFields)
}

var (
	accept   = mutation(`acceptRequest(id: $id, promisedAt: $at, note: $note)`, `($id: ID!, $at: Time, $note: String)`)
	assign   = mutation(`assignRequest(id: $id, assigneeId: $to, note: $note)`, `($id: ID!, $to: ID!, $note: String)`)
	start    = mutation(`startRequest(id: $id)`, `($id: ID!)`)
	complete = mutation(`completeRequest(id: $id, note: $note)`, `($id: ID!, $note: String!)`)
	confirm  = mutation(`confirmRequest(id: $id, satisfied: $ok, rating: $rating, comment: $comment)`, `($id: ID!, $ok: Boolean!, $rating: Int, $comment: String)`)
	cancel   = mutation(`cancelRequest(id: $id, reason: $reason)`, `($id: ID!, $reason: String!)`)
	callBack = mutation(`recordCallback(id: $id, method: $method, satisfaction: $sat, note: $note)`, `($id: ID!, $method: CallbackMethod!, $sat: Int!, $note: String)`)
	attempt  = mutation(`recordCallback(id: $id, method: $method, outcome: $outcome, satisfaction: $sat, note: $note)`,
		`($id: ID!, $method: CallbackMethod!, $outcome: CallbackOutcome!, $sat: Int, $note: String)`)
	followUp = mutation(`recordFollowUp(id: $id, note: $note)`, `($id: ID!, $note: String!)`)
)

// later is a promise time an hour after the server's clock.
func (s *testServer) later() string {
	return s.clock.Now().Add(time.Hour).Format(time.RFC3339)
}

func statuses(evs []event) string {
	var b strings.Builder
	for i, e := range evs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(e.Type)
	}
	return b.String()
}
