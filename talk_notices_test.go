package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/postgres"
)

// notices returns the titles of the person's notices of a kind about a
// request.
func notices(c *client, requestID, kind string) []string {
	c.t.Helper()
	var out struct {
		MyNotifications struct {
			Edges []struct {
				Node struct {
					Kind, Title string
					Request     *struct{ ID string }
				}
			}
		}
	}
	c.must(`{ myNotifications(first: 100) { edges { node { kind title request { id } } } } }`, nil, &out)
	var titles []string
	for _, e := range out.MyNotifications.Edges {
		if e.Node.Kind == kind && e.Node.Request != nil && e.Node.Request.ID == requestID {
			titles = append(titles, e.Node.Title)
		}
	}
	return titles
}

// Every notice reaches the right person once: the customer's acceptance
// with the promise in the property's time, the first-asker's transfers,
// holds and resumes, the director's VIP follow-up, the household's reply
// to its rating; and the push gateway gets the phone's token, a title in
// the household's language and a collapse key per request, until logout.
func TestEveryoneTold(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "ET", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN", "tech2": "TECHNICIAN", "dir": "DIRECTOR"})
	s.exec(t, `UPDATE units SET vip = true WHERE id = $1`, e.Unit)
	resident := s.login(t, e.Resident)
	agent := s.login(t, e.user("agent"))
	tech, tech2 := s.login(t, e.user("tech")), s.login(t, e.user("tech2"))
	dir := s.login(t, e.user("dir"))

	resident.must(`mutation { setLanguage(language: ZH_HANT) { language } }`, nil, nil)
	resident.must(`mutation { registerDevice(platform: IOS, token: "apns-token-1") }`, nil, nil)
	resident.fails("INVALID_INPUT", `mutation { registerDevice(platform: IOS, token: "") }`, nil)

	r := resident.submit(e.Plumbing, "Leak")
	// 10:00 in Hong Kong; promised for 11:00 there.
	agent.act(accept, map[string]any{"id": r.ID, "at": s.later()})
	got := notices(resident, r.ID, "ACCEPTED")
	if len(got) != 1 || !strings.Contains(got[0], "2026-11-27 11:00") {
		t.Fatalf("acceptance notices %q", got)
	}
	if sc := notices(resident, r.ID, "STATUS_CHANGED"); len(sc) != 0 {
		t.Fatalf("acceptance told twice: %q", sc)
	}

	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	tech.must(`mutation($id: ID!, $to: ID!) { transferRequest(id: $id, assigneeId: $to, reason: "plumbing is Chan's") { id } }`,
		map[string]any{"id": r.ID, "to": tech2.id}, nil)
	tech2.must(`mutation($id: ID!) { holdRequest(id: $id, reason: "part") { id } }`, map[string]any{"id": r.ID}, nil)
	tech2.must(`mutation($id: ID!) { resumeRequest(id: $id) { id } }`, map[string]any{"id": r.ID}, nil)
	if got := notices(agent, r.ID, "PROGRESS"); len(got) != 3 {
		t.Fatalf("the first-asker heard %q", got)
	}
	tech2.act(start, map[string]any{"id": r.ID})
	tech2.act(complete, map[string]any{"id": r.ID, "note": "Fixed"})
	if got := notices(dir, r.ID, "FOLLOW_UP"); len(got) != 1 {
		t.Fatalf("the director heard %q", got)
	}
	resident.act(confirm, map[string]any{"id": r.ID, "ok": true, "rating": 3})
	tech2.must(`mutation($id: ID!) { replyToRating(id: $id, reply: "Sorry for the wait") { id } }`, map[string]any{"id": r.ID}, nil)
	if got := notices(resident, r.ID, "RATING_REPLIED"); len(got) != 1 {
		t.Fatalf("the household heard %q of the reply", got)
	}

	// The push gateway's view.
	var mu sync.Mutex
	var pushed []notification.Notification
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notification.Notification
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &n)
		mu.Lock()
		pushed = append(pushed, n)
		mu.Unlock()
	}))
	defer gateway.Close()
	pusher := &notification.Pusher{Outbox: postgres.NewNotificationStore(s.app.DB), Sender: notification.WebhookSender{URL: gateway.URL},
		Clock: s.clock, MaxAttempts: 3, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	drain := func() {
		t.Helper()
		for {
			n, err := pusher.Tick(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
		}
	}
	drain()
	var mine []notification.Notification
	for _, n := range pushed {
		if n.PersonID == resident.id && n.RequestID != nil && *n.RequestID == r.ID {
			mine = append(mine, n)
		}
	}
	if len(mine) == 0 {
		t.Fatal("nothing pushed to the resident")
	}
	for _, n := range mine {
		p := n.Push
		if p == nil || len(p.Devices) != 1 || p.Devices[0].Token != "apns-token-1" || p.Devices[0].Platform != "IOS" ||
			p.Language != "zh-Hant" || p.CollapseKey != "request-"+r.ID {
			t.Fatalf("push %+v", n)
		}
		if n.Kind == notification.Accepted && !strings.Contains(p.Title, "已受理") {
			t.Fatalf("acceptance pushed as %q", p.Title)
		}
	}

	// Logging out forgets the phone: the next push goes to no device.
	resident.must(`mutation($t: String!) { logout(refreshToken: $t) }`, map[string]any{"t": resident.refresh}, nil)
	var left int
	if err := s.app.DB.Get(&left, `SELECT count(*) FROM devices WHERE person_id = $1`, resident.id); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d devices left after logout", left)
	}
}
