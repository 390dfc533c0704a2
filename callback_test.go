package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// task is what the tests read of a callback task.
type task struct {
	ID       string
	Reason   string
	Status   string
	Attempts int
	DueAt    time.Time
	Request  struct{ ID string }
}

const queueQuery = `query($p: ID, $first: Int, $after: String) { callbackQueue(propertyId: $p, first: $first, after: $after) {
	edges { cursor node { id reason status attempts dueAt request { id } } } pageInfo { hasNextPage endCursor } } }`

// queued returns the open callback task of a request in the caller's
// queue, or nil.
func (c *client) queued(requestID string) *task {
	c.t.Helper()
	var after *string
	for {
		var out struct {
			CallbackQueue struct {
				Edges    []struct{ Node task }
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
		c.must(queueQuery, map[string]any{"first": 100, "after": after}, &out)
		for _, e := range out.CallbackQueue.Edges {
			if e.Node.Request.ID == requestID {
				return &e.Node
			}
		}
		if !out.CallbackQueue.PageInfo.HasNextPage {
			return nil
		}
		after = out.CallbackQueue.PageInfo.EndCursor
	}
}

// completed takes a new request of a resident through to COMPLETED.
func completed(t *testing.T, s *testServer, resident, agent, tech *client, category, what string) req {
	t.Helper()
	r := resident.submit(resident.categoryID("HV", category), what)
	if r.Status == "SUBMITTED" {
		agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
	} // else a butler-mode household's: already accepted for the butler
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	tech.act(start, map[string]any{"id": r.ID})
	return tech.act(complete, map[string]any{"id": r.ID, "note": "done"})
}

// eventData reads the data of a request's last event of a type straight
// from the log: the API does not show it.
func eventData(t *testing.T, s *testServer, requestID, typ string) map[string]any {
	t.Helper()
	var raw []byte
	if err := s.app.DB.QueryRowContext(context.Background(),
		`SELECT data FROM request_events WHERE request_id = $1 AND type = $2 ORDER BY id DESC LIMIT 1`, requestID, typ).Scan(&raw); err != nil {
		t.Fatalf("event %s of %s: %v", typ, requestID, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Confirmation puts a callback task in the service center's queue, due a
// day later; reaching a satisfied customer takes it out and closes the
// request.
func TestCallbackTaskOnConfirmation(t *testing.T) {
	s := sharedServer(t)
	lee := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	siu := s.login(t, "agent.siu")

	r := completed(t, s, lee, agent, tech, "plumbing", "Toilet cistern runs")
	if agent.queued(r.ID) != nil {
		t.Fatal("a callback task before the customer confirmed")
	}
	lee.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 4})
	tk := agent.queued(r.ID)
	if tk == nil || tk.Reason != "CONFIRMED" || tk.Status != "OPEN" || tk.Attempts != 0 {
		t.Fatalf("task after confirmation: %+v", tk)
	}
	if want := s.clock.Now().Add(24 * time.Hour); !tk.DueAt.Equal(want) {
		t.Errorf("due %v, want %v", tk.DueAt, want)
	}
	// Another property's agent does not see it; residents have no queue.
	if siu.queued(r.ID) != nil {
		t.Error("K Tower's agent sees Harbour View's callback")
	}
	lee.fails("FORBIDDEN", queueQuery, nil)
	agent.fails("NOT_FOUND", queueQuery, map[string]any{"p": "not-a-uuid"})

	r = agent.act(callBack, map[string]any{"id": r.ID, "method": "PHONE", "sat": 4})
	if r.Status != "CLOSED" {
		t.Fatalf("after a satisfied callback: %s", r.Status)
	}
	if agent.queued(r.ID) != nil {
		t.Error("the task stayed in the queue after the customer was reached")
	}
}

// The queue is due first and pages.
func TestCallbackQueueOrderAndPaging(t *testing.T) {
	s := sharedServer(t)
	lee := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	for i := 0; i < 3; i++ {
		r := completed(t, s, lee, agent, tech, "cleaning", "Lobby floor")
		lee.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 5})
		s.clock.Advance(time.Minute)
	}
	var seen []time.Time
	var after *string
	for page := 0; ; page++ {
		var out struct {
			CallbackQueue struct {
				Edges    []struct{ Node task }
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
		agent.must(queueQuery, map[string]any{"first": 2, "after": after}, &out)
		if len(out.CallbackQueue.Edges) > 2 {
			t.Fatalf("page of %d", len(out.CallbackQueue.Edges))
		}
		for _, e := range out.CallbackQueue.Edges {
			seen = append(seen, e.Node.DueAt)
		}
		if !out.CallbackQueue.PageInfo.HasNextPage {
			break
		}
		after = out.CallbackQueue.PageInfo.EndCursor
	}
	if len(seen) < 3 || !slices.IsSortedFunc(seen, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Fatalf("queue not due-first: %v", seen)
	}
}

// Work the customer leaves unanswered is confirmed for them after the
// configured days by the scheduled job, which opens the callback task.
func TestAutoConfirmOpensCallback(t *testing.T) {
	s := startServer(t, nil)
	lee := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	r := completed(t, s, lee, agent, tech, "electrical", "Socket sparks")

	jobs := s.app.Callbacks
	ctx := context.Background()
	s.clock.Advance(72*time.Hour - time.Minute)
	if _, err := jobs.AutoConfirmDue(ctx); err != nil {
		t.Fatal(err)
	}
	// Tokens expire as the clock moves: sign in again.
	agent = s.login(t, "agent.wong")
	if got := agent.get(r.ID); got.Status != "COMPLETED" {
		t.Fatalf("confirmed before three days: %s", got.Status)
	}
	s.clock.Advance(time.Minute)
	n, err := jobs.AutoConfirmDue(ctx)
	if err != nil || n < 1 {
		t.Fatalf("auto-confirm: %d, %v", n, err)
	}
	agent = s.login(t, "agent.wong")
	got := agent.get(r.ID)
	last := got.Timeline[len(got.Timeline)-1]
	if got.Status != "CONFIRMED" || last.Type != "AUTO_CONFIRMED" || last.Actor != nil || got.Rating != nil {
		t.Fatalf("after the job: %s, last event %+v", got.Status, last)
	}
	tk := agent.queued(r.ID)
	if tk == nil || tk.Reason != "AUTO_CONFIRMED" {
		t.Fatalf("callback task after auto-confirmation: %+v", tk)
	}
	// A second run finds nothing more to do for it.
	if _, err := jobs.AutoConfirmDue(ctx); err != nil {
		t.Fatal(err)
	}
	if again := agent.get(r.ID); len(again.Timeline) != len(got.Timeline) {
		t.Fatalf("the job ran twice on one request: %s", statuses(again.Timeline))
	}
}

// Two instances running the job at once confirm each request once.
func TestAutoConfirmConcurrent(t *testing.T) {
	s := startServer(t, nil)
	other := startServer(t, nil)
	lee := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	var ids []string
	for i := 0; i < 4; i++ {
		ids = append(ids, completed(t, s, lee, agent, tech, "plumbing", "Leak").ID)
	}
	s.clock.Advance(73 * time.Hour)
	other.clock.Set(s.clock.Now())
	errs := make(chan error, 2)
	for _, srv := range []*testServer{s, other} {
		go func() { _, err := srv.app.Callbacks.AutoConfirmDue(context.Background()); errs <- err }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		var n int
		if err := s.app.DB.QueryRowContext(context.Background(),
			`SELECT count(*) FROM request_events WHERE request_id = $1 AND type = 'AUTO_CONFIRMED'`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		var tasks int
		if err := s.app.DB.QueryRowContext(context.Background(),
			`SELECT count(*) FROM callback_tasks WHERE request_id = $1`, id).Scan(&tasks); err != nil {
			t.Fatal(err)
		}
		if n != 1 || tasks != 1 {
			t.Errorf("request %s: %d auto-confirmations, %d tasks", id, n, tasks)
		}
	}
}

// Failed attempts are noted without changing the status; the last allowed
// one closes the task as unreachable, and the request with it.
func TestCallbackAttemptLimit(t *testing.T) {
	s := sharedServer(t)
	lee := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	r := completed(t, s, lee, agent, tech, "plumbing", "Water heater")
	lee.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 3})

	// Satisfaction belongs to a reached customer only, and a reached one
	// must give it.
	agent.fails("INVALID_INPUT", attempt, map[string]any{"id": r.ID, "method": "PHONE", "outcome": "NO_ANSWER", "sat": 3})
	bad := agent.fails("INVALID_INPUT", attempt, map[string]any{"id": r.ID, "method": "PHONE", "outcome": "REACHED"})
	if bad.field() != "satisfaction" {
		t.Errorf("field %q", bad.field())
	}

	for i, outcome := range []string{"NO_ANSWER", "DECLINED"} {
		r = agent.act(attempt, map[string]any{"id": r.ID, "method": "PHONE", "outcome": outcome, "note": "tried"})
		if r.Status != "CONFIRMED" {
			t.Fatalf("attempt %d moved the request to %s", i+1, r.Status)
		}
		if tk := agent.queued(r.ID); tk == nil || tk.Attempts != i+1 {
			t.Fatalf("after attempt %d: %+v", i+1, tk)
		}
	}
	r = agent.act(attempt, map[string]any{"id": r.ID, "method": "VISIT", "outcome": "NO_ANSWER"})
	if r.Status != "CLOSED" {
		t.Fatalf("after the third failed attempt: %s", r.Status)
	}
	if agent.queued(r.ID) != nil {
		t.Error("an unreachable task stayed in the queue")
	}
	if want := "CONFIRMED CALLBACK_ATTEMPTED CALLBACK_ATTEMPTED CALLBACK_ATTEMPTED CLOSED"; statuses(r.Timeline[5:]) != want {
		t.Fatalf("timeline %q", statuses(r.Timeline))
	}
	if d := eventData(t, s, r.ID, "CLOSED"); d["reason"] != "CALLBACK_UNREACHABLE" {
		t.Errorf("close reason %v", d)
	}
	var status string
	var attempts int
	if err := s.app.DB.QueryRowContext(context.Background(),
		`SELECT status, attempts FROM callback_tasks WHERE request_id = $1`, r.ID).Scan(&status, &attempts); err != nil {
		t.Fatal(err)
	}
	if status != "UNREACHABLE" || attempts != 3 {
		t.Errorf("task %s after %d attempts", status, attempts)
	}
}

// Unsatisfied means not done: a callback scoring 1-2 reopens the request to
// the same worker and names the first-asker and the managers to notify.
func TestLowSatisfactionReopens(t *testing.T) {
	s := sharedServer(t)
	lee := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	manager := s.login(t, "manager.cheung")
	r := completed(t, s, lee, agent, tech, "electrical", "Doorbell dead")
	lee.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 4})

	r = agent.act(callBack, map[string]any{"id": r.ID, "method": "PHONE", "sat": 2, "note": "rings only sometimes"})
	if r.Status != "ASSIGNED" || r.Assignee == nil || r.Assignee.ID != tech.id {
		t.Fatalf("after an unsatisfied callback: %+v", r)
	}
	last := r.Timeline[len(r.Timeline)-1]
	if last.Type != "REOPENED" || *last.FromStatus != "CONFIRMED" || *last.Note != "rings only sometimes" {
		t.Fatalf("reopen event %+v", last)
	}
	notify, _ := eventData(t, s, r.ID, "REOPENED")["notify"].([]any)
	if !slices.Contains(notify, any(agent.id)) || !slices.Contains(notify, any(manager.id)) {
		t.Errorf("notify %v, want the first-asker %s and the manager %s", notify, agent.id, manager.id)
	}
	// The manager's inbox has it (the agent made the call, so is not
	// told of their own action).
	if n := notificationsAbout(t, manager, r.ID, "STATUS_CHANGED"); n != 1 {
		t.Errorf("the manager heard of the reopening %d times, want once", n)
	}
	if agent.queued(r.ID) != nil {
		t.Error("the reached callback's task is still open")
	}
	// The worker puts it right; the next confirmation owes a new callback.
	tech.act(start, map[string]any{"id": r.ID})
	tech.act(complete, map[string]any{"id": r.ID, "note": "wiring fixed"})
	lee.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 5})
	if agent.queued(r.ID) == nil {
		t.Fatal("no callback task after the second confirmation")
	}
	if r = agent.act(callBack, map[string]any{"id": r.ID, "method": "PHONE", "sat": 5}); r.Status != "CLOSED" {
		t.Fatalf("after the second callback: %s", r.Status)
	}

	// The resident's own rejection names them too.
	r = completed(t, s, lee, agent, tech, "electrical", "Fan hums")
	lee.act(confirm, map[string]any{"id": r.ID, "ok": false, "comment": "still hums"})
	notify, _ = eventData(t, s, r.ID, "REOPENED")["notify"].([]any)
	if !slices.Contains(notify, any(manager.id)) {
		t.Errorf("rejection notify %v", notify)
	}
}

// A VIP household's request cannot close until the director has followed
// up. A satisfied callback made first is recorded all the same (the call
// took place: the task is done and its satisfaction counts) and the request
// waits, CONFIRMED, for the director, who was told when the work was done
// and whose follow-up then closes it. Only the director (or an admin) may
// record the follow-up.
func TestVIPFollowUpBeforeClose(t *testing.T) {
	s := sharedServer(t)
	chan_ := s.login(t, "resident.chan")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	manager := s.login(t, "manager.cheung")
	director := s.login(t, "director.ng")

	r := completed(t, s, chan_, agent, tech, "plumbing", "Basin tap")
	// The director is told at once that a follow-up is owed.
	var inbox struct {
		MyNotifications struct {
			Edges []struct {
				Node struct {
					Kind    string
					Request struct{ ID string }
				}
			}
		}
	}
	director.must(`{ myNotifications(first: 20) { edges { node { kind request { id } } } } }`, nil, &inbox)
	told := 0
	for _, e := range inbox.MyNotifications.Edges {
		if e.Node.Kind == "FOLLOW_UP" && e.Node.Request.ID == r.ID {
			told++
		}
	}
	if told != 1 {
		t.Fatalf("the director was told %d times that a follow-up is owed", told)
	}
	// The director finds it in their queue.
	queue := `{ requests(filter: {followUpPending: true}, first: 100) { edges { node { id followUpPending } } } }`
	inQueue := func() bool {
		var out struct {
			Requests struct {
				Edges []struct {
					Node struct {
						ID              string
						FollowUpPending bool
					}
				}
			}
		}
		director.must(queue, nil, &out)
		for _, e := range out.Requests.Edges {
			if e.Node.ID == r.ID && e.Node.FollowUpPending {
				return true
			}
		}
		return false
	}
	if !inQueue() {
		t.Fatal("the completed VIP request is not in the director's follow-up queue")
	}
	chan_.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 5})
	r = agent.act(callBack, map[string]any{"id": r.ID, "method": "PHONE", "sat": 5})
	if r.Status != "CONFIRMED" || statuses(r.Timeline[len(r.Timeline)-1:]) != "CALLED_BACK" {
		t.Fatalf("a callback before the follow-up: %s %s", r.Status, statuses(r.Timeline))
	}
	if agent.queued(r.ID) != nil {
		t.Error("the callback task is still open after the customer was reached")
	}
	var reached struct {
		N, Sum int
		Done   bool
	}
	if err := s.app.DB.QueryRowContext(context.Background(), `SELECT r.callback_satisfaction_n, r.callback_satisfaction_sum,
	EXISTS (SELECT 1 FROM callback_tasks k WHERE k.request_id = r.id AND k.status = 'DONE')
FROM service_requests r WHERE r.id = $1`, r.ID).Scan(&reached.N, &reached.Sum, &reached.Done); err != nil {
		t.Fatal(err)
	}
	if reached.N != 1 || reached.Sum != 5 || !reached.Done {
		t.Fatalf("the callback did not count: %+v", reached)
	}
	if !inQueue() {
		t.Fatal("the follow-up is no longer owed after the callback")
	}
	agent.fails("FORBIDDEN", followUp, map[string]any{"id": r.ID, "note": "on the director's behalf"})
	manager.fails("FORBIDDEN", followUp, map[string]any{"id": r.ID, "note": "on the director's behalf"})
	director.fails("INVALID_INPUT", followUp, map[string]any{"id": r.ID, "note": " "})
	r = director.act(followUp, map[string]any{"id": r.ID, "note": "visited Mrs Chan"})
	if inQueue() {
		t.Error("still in the director's queue after the follow-up")
	}
	if r.Status != "CLOSED" || eventData(t, s, r.ID, "CLOSED")["reason"] != "FOLLOWED_UP" {
		t.Fatalf("the follow-up after the callback did not close it: %s", r.Status)
	}
	director.fails("CONFLICT", followUp, map[string]any{"id": r.ID, "note": "again"})

	// The other order: the follow-up first leaves the callback owed, and
	// the callback closes it.
	r = completed(t, s, chan_, agent, tech, "plumbing", "Shower head")
	chan_.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 5})
	if r = director.act(followUp, map[string]any{"id": r.ID, "note": "visited Mrs Chan"}); r.Status != "CONFIRMED" {
		t.Fatalf("the callback is still owed, got %s", r.Status)
	}
	if r = agent.act(callBack, map[string]any{"id": r.ID, "method": "PHONE", "sat": 5}); r.Status != "CLOSED" {
		t.Fatalf("after follow-up and callback: %s", r.Status)
	}

	// A category that wants no callback: confirmation leaves the request
	// waiting for the director alone, whose follow-up closes it.
	if _, err := s.app.DB.ExecContext(context.Background(), `INSERT INTO service_categories
(property_id, code, kind, name, name_zh, target_minutes, callback_policy)
SELECT id, 'vip-no-callback', 'FEATURED', 'Flowers', '送花', 60, 'NEVER' FROM properties WHERE code = 'HV'
ON CONFLICT (property_id, code) DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	r = completed(t, s, chan_, agent, tech, "vip-no-callback", "Flowers for the lobby")
	if r = chan_.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 5}); r.Status != "CONFIRMED" {
		t.Fatalf("closed before the follow-up: %s", r.Status)
	}
	if agent.queued(r.ID) != nil {
		t.Error("a NEVER category got a callback task")
	}
	r = director.act(followUp, map[string]any{"id": r.ID, "note": "called Mrs Chan"})
	if r.Status != "CLOSED" || eventData(t, s, r.ID, "CLOSED")["reason"] != "FOLLOWED_UP" {
		t.Fatalf("after the follow-up: %s", r.Status)
	}

	// A household that is not VIP owes no follow-up.
	lee := s.login(t, "resident.lee")
	r = completed(t, s, lee, agent, tech, "plumbing", "Shower head")
	director.fails("CONFLICT", followUp, map[string]any{"id": r.ID, "note": "nothing owed"})
}

// Callback policy per category: ONLY_UNRATED calls back only when the
// customer gave no rating, so a rated confirmation closes at once.
func TestCallbackPolicyOnlyUnrated(t *testing.T) {
	s := startServer(t, nil)
	if _, err := s.app.DB.ExecContext(context.Background(), `INSERT INTO service_categories
(property_id, code, kind, name, name_zh, target_minutes, callback_policy)
SELECT id, 'only-unrated', 'INQUIRY', 'Quick question', '查詢', 60, 'ONLY_UNRATED' FROM properties WHERE code = 'HV'
ON CONFLICT (property_id, code) DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	lee := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	r := completed(t, s, lee, agent, tech, "only-unrated", "Opening hours?")
	if r = lee.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 5}); r.Status != "CLOSED" {
		t.Fatalf("rated ONLY_UNRATED request: %s", r.Status)
	}
	// Unrated (auto-confirmed): a callback is owed.
	r = completed(t, s, lee, agent, tech, "only-unrated", "Gym rules?")
	s.clock.Advance(73 * time.Hour)
	if _, err := s.app.Callbacks.AutoConfirmDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	agent = s.login(t, "agent.wong")
	if agent.queued(r.ID) == nil {
		t.Fatal("no callback for an unrated ONLY_UNRATED request")
	}
}

const ratingFields = `id status rating { score timeliness attitude comment reply repliedAt repliedBy { id } }`

type rating struct {
	Rating *struct {
		Score, Timeliness, Attitude *int
		Comment, Reply              *string
		RepliedAt                   *time.Time
		RepliedBy                   *struct{ ID string }
	}
}

// The rating has overall, timeliness and attitude; the worker or the
// service center may reply, and reply again to edit.
func TestRatingDetailAndReply(t *testing.T) {
	s := sharedServer(t)
	lee := s.login(t, "resident.lee")
	agent := s.login(t, "agent.wong")
	tech := s.login(t, "tech.lam")
	guard := s.login(t, "guard.yip")
	r := completed(t, s, lee, agent, tech, "cleaning", "Balcony")

	confirm3 := `mutation($id: ID!, $t: Int, $a: Int) { confirmRequest(id: $id, satisfied: true, rating: 4, comment: "ok", timeliness: $t, attitude: $a) { ` + ratingFields + ` } }`
	if bad := lee.fails("INVALID_INPUT", confirm3, map[string]any{"id": r.ID, "t": 6, "a": 5}); bad.field() != "timeliness" {
		t.Errorf("field %q", bad.field())
	}
	var out struct{ ConfirmRequest rating }
	lee.must(confirm3, map[string]any{"id": r.ID, "t": 3, "a": 5}, &out)
	if rt := out.ConfirmRequest.Rating; rt == nil || *rt.Score != 4 || *rt.Timeliness != 3 || *rt.Attitude != 5 || rt.Reply != nil {
		t.Fatalf("rating %+v", out.ConfirmRequest.Rating)
	}

	replyQ := `mutation($id: ID!, $reply: String!) { replyToRating(id: $id, reply: $reply) { ` + ratingFields + ` } }`
	lee.fails("FORBIDDEN", replyQ, map[string]any{"id": r.ID, "reply": "self-praise"})
	guard.fails("NOT_FOUND", replyQ, map[string]any{"id": r.ID, "reply": "not mine"})
	var rep struct{ ReplyToRating rating }
	tech.must(replyQ, map[string]any{"id": r.ID, "reply": "Sorry for the wait"}, &rep)
	if rt := rep.ReplyToRating.Rating; *rt.Reply != "Sorry for the wait" || rt.RepliedBy.ID != tech.id || rt.RepliedAt == nil {
		t.Fatalf("reply %+v", rt)
	}
	agent.must(replyQ, map[string]any{"id": r.ID, "reply": "Thank you, Mr Lee"}, &rep)
	if rt := rep.ReplyToRating.Rating; *rt.Reply != "Thank you, Mr Lee" || rt.RepliedBy.ID != agent.id {
		t.Fatalf("edited reply %+v", rt)
	}
	if d := eventData(t, s, r.ID, "RATING_REPLIED"); d["edited"] != true {
		t.Errorf("edit not marked: %v", d)
	}

	// Nothing to reply to before a rating.
	r = completed(t, s, lee, agent, tech, "cleaning", "Windows")
	agent.fails("CONFLICT", replyQ, map[string]any{"id": r.ID, "reply": "early"})
}
