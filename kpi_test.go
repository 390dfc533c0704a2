package main

import (
	"context"
	"encoding/csv"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/config"
)

// kpiProperty inserts a property of its own for the KPI test, so that no
// other test's requests fall into its figures: a building, one household,
// two categories, and its resident, agent, technician and manager, whose
// password is the demo one.
func kpiProperty(t *testing.T, s *testServer) (code string) {
	t.Helper()
	ctx := context.Background()
	// A code of its own, so the test can run again on the same database.
	code = uniqueCode("KP")
	user := strings.ToLower(code) + "."
	stmts := []string{
		`INSERT INTO properties (code, name, kind, service_mode, time_zone) VALUES ('KPI', 'KPI Court', 'RESIDENTIAL', 'SERVICE_CENTER', 'Asia/Hong_Kong')
		 ON CONFLICT (code) DO NOTHING`,
		`INSERT INTO buildings (property_id, code, name) SELECT id, 'K', 'Block K' FROM properties WHERE code = 'KPI' ON CONFLICT DO NOTHING`,
		`INSERT INTO units (property_id, building_id, code) SELECT p.id, b.id, 'K-0101' FROM properties p JOIN buildings b ON b.property_id = p.id
		 WHERE p.code = 'KPI' ON CONFLICT DO NOTHING`,
		`INSERT INTO service_categories (property_id, code, kind, name, name_zh, target_minutes)
		 SELECT id, c, 'REPAIR', c, c, 240 FROM properties, unnest('{kpi-a,kpi-b}'::text[]) c WHERE code = 'KPI' ON CONFLICT DO NOTHING`,
		`INSERT INTO people (username, name, password_hash)
		 SELECT u, u, (SELECT password_hash FROM people WHERE username = 'resident.lee')
		 FROM unnest('{kpi.resident,kpi.agent,kpi.tech,kpi.manager}'::text[]) u ON CONFLICT DO NOTHING`,
		`INSERT INTO residencies (person_id, unit_id, relation) SELECT pe.id, u.id, 'OWNER' FROM people pe, units u
		 WHERE pe.username = 'kpi.resident' AND u.code = 'K-0101' AND u.property_id = (SELECT id FROM properties WHERE code = 'KPI')
		 ON CONFLICT DO NOTHING`,
		`INSERT INTO staff_roles (person_id, property_id, role) SELECT pe.id, p.id, r.role FROM properties p,
		 (VALUES ('kpi.agent', 'AGENT'), ('kpi.tech', 'TECHNICIAN'), ('kpi.manager', 'MANAGER')) r (username, role)
		 JOIN people pe ON pe.username = r.username WHERE p.code = 'KPI' ON CONFLICT DO NOTHING`,
	}
	for _, q := range stmts {
		q = strings.NewReplacer("'KPI'", "'"+code+"'", "kpi.", user).Replace(q)
		if _, err := s.app.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return code
}

type kpiFigures struct {
	Date     string
	Total    int
	ByStatus []struct {
		Status string
		Count  int
	}
	ByCategory []struct {
		Category struct{ Code string }
		Count    int
	}
	MedianAcceptMinutes   *float64
	P90AcceptMinutes      *float64
	MedianCompleteMinutes *float64
	P90CompleteMinutes    *float64
	PromiseKeptRate       *float64
	Breaches              int
	Escalations           int
	ReopenRate            *float64
	CallbackRate          *float64
	CallbacksOverdue      int
	AvgSatisfaction       *float64
}

const kpiFields = `total byStatus { status count } byCategory { category { code } count }
	medianAcceptMinutes p90AcceptMinutes medianCompleteMinutes p90CompleteMinutes promiseKeptRate
	breaches escalations reopenRate callbackRate callbacksOverdue avgSatisfaction`

const statsQuery = `query($p: ID, $from: Time!, $to: Time!) { serviceStats(propertyId: $p, from: $from, to: $to) { ` + kpiFields + `
	daily { date ` + kpiFields + ` } } }`

func f(v float64) *float64 { return &v }

// check compares a figure set with the hand-computed one.
func (k kpiFigures) check(t *testing.T, name string, want kpiFigures, statuses, categories map[string]int) {
	t.Helper()
	if k.Total != want.Total || k.Breaches != want.Breaches || k.Escalations != want.Escalations || k.CallbacksOverdue != want.CallbacksOverdue {
		t.Errorf("%s: total %d breaches %d escalations %d overdue %d, want %d %d %d %d", name, k.Total, k.Breaches, k.Escalations,
			k.CallbacksOverdue, want.Total, want.Breaches, want.Escalations, want.CallbacksOverdue)
	}
	floats := []struct {
		what      string
		got, want *float64
	}{
		{"medianAccept", k.MedianAcceptMinutes, want.MedianAcceptMinutes},
		{"p90Accept", k.P90AcceptMinutes, want.P90AcceptMinutes},
		{"medianComplete", k.MedianCompleteMinutes, want.MedianCompleteMinutes},
		{"p90Complete", k.P90CompleteMinutes, want.P90CompleteMinutes},
		{"promiseKeptRate", k.PromiseKeptRate, want.PromiseKeptRate},
		{"reopenRate", k.ReopenRate, want.ReopenRate},
		{"callbackRate", k.CallbackRate, want.CallbackRate},
		{"avgSatisfaction", k.AvgSatisfaction, want.AvgSatisfaction},
	}
	for _, fl := range floats {
		switch {
		case fl.want == nil && fl.got != nil:
			t.Errorf("%s %s = %v, want null", name, fl.what, *fl.got)
		case fl.want != nil && (fl.got == nil || math.Abs(*fl.got-*fl.want) > 1e-9):
			t.Errorf("%s %s = %v, want %v", name, fl.what, fl.got, *fl.want)
		}
	}
	gotS := map[string]int{}
	for _, c := range k.ByStatus {
		gotS[c.Status] = c.Count
	}
	gotC := map[string]int{}
	for _, c := range k.ByCategory {
		gotC[c.Category.Code] = c.Count
	}
	if !equalCounts(gotS, statuses) || !equalCounts(gotC, categories) {
		t.Errorf("%s: by status %v by category %v, want %v %v", name, gotS, gotC, statuses, categories)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The KPIs against a small data set worked out by hand (docs/kpis.md has
// the definitions). KPI Court is in Hong Kong (UTC+8); the window is its
// local 1-2 March 2027, so [2027-02-28T16:00Z, 2027-03-02T16:00Z). Every
// step happens at an exact clock time:
//
//	R0 created 02-28 15:59Z (28 Feb 23:59 local): before the window
//	R1 created 02-28 16:30Z (1 Mar 00:30 local, still 28 Feb in UTC):
//	   accepted +10m (promise +4h), completed +60m (kept), rated 5/4/5,
//	   callback reached, satisfaction 4 -> CLOSED
//	R2 created 03-01 15:50Z (1 Mar 23:50 local): accepted +20m (promise
//	   +60m), completed +120m (broken), rated 3, callback satisfaction 2
//	   -> reopened, completed again -> COMPLETED
//	R3 created 03-01 16:10Z (2 Mar 00:10 local): accepted +30m (promise
//	   +2h, passed by the end of the window), assigned, never done; the
//	   promise clock breaches it and escalates it once -> ASSIGNED
//	R4 created 03-02 01:00Z (2 Mar local), category kpi-b: cancelled
//	R6 created 03-02 02:00Z (2 Mar local): accepted +5m (promise +20m),
//	   completed +30m (broken), rated 4, callback due an hour after
//	   confirmation and never made -> CONFIRMED, one callback overdue
//	R5 created 03-02 16:00Z (3 Mar 00:00 local): after the window
func TestServiceStatsHandComputed(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.AccessTTL = 60 * 24 * time.Hour
		c.CallbackDue = time.Hour
	})
	code := kpiProperty(t, s)
	user := strings.ToLower(code) + "."
	at := func(v string) {
		t.Helper()
		ts, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t.Fatal(err)
		}
		s.clock.Set(ts)
	}
	at("2027-02-28T15:00:00Z")
	res := s.login(t, user+"resident")
	agent := s.login(t, user+"agent")
	tech := s.login(t, user+"tech")
	manager := s.login(t, user+"manager")
	catA, catB := res.categoryID(code, "kpi-a"), res.categoryID(code, "kpi-b")
	promise := func(v string) map[string]any { return map[string]any{"at": v} }
	with := func(id string, m map[string]any) map[string]any { m["id"] = id; return m }

	at("2027-02-28T15:59:00Z")
	res.submit(catA, "R0")
	at("2027-02-28T16:30:00Z")
	r1 := res.submit(catA, "R1").ID
	at("2027-02-28T16:40:00Z")
	agent.act(accept, with(r1, promise("2027-02-28T20:30:00Z")))
	agent.act(assign, map[string]any{"id": r1, "to": tech.id})
	at("2027-02-28T16:50:00Z")
	tech.act(start, map[string]any{"id": r1})
	at("2027-02-28T17:30:00Z")
	tech.act(complete, map[string]any{"id": r1, "note": "done"})
	at("2027-02-28T17:40:00Z")
	res.must(`mutation($id: ID!) { confirmRequest(id: $id, satisfied: true, rating: 5, timeliness: 4, attitude: 5) { id } }`, map[string]any{"id": r1}, nil)
	at("2027-02-28T17:50:00Z")
	agent.act(callBack, map[string]any{"id": r1, "method": "PHONE", "sat": 4})

	at("2027-03-01T15:50:00Z")
	r2 := res.submit(catA, "R2").ID
	at("2027-03-01T16:10:00Z")
	agent.act(accept, with(r2, promise("2027-03-01T16:50:00Z")))
	agent.act(assign, map[string]any{"id": r2, "to": tech.id})
	r3 := res.submit(catA, "R3").ID
	at("2027-03-01T16:20:00Z")
	tech.act(start, map[string]any{"id": r2})
	at("2027-03-01T16:40:00Z")
	agent.act(accept, with(r3, promise("2027-03-01T18:10:00Z")))
	agent.act(assign, map[string]any{"id": r3, "to": tech.id})
	at("2027-03-01T17:50:00Z")
	tech.act(complete, map[string]any{"id": r2, "note": "done"})
	at("2027-03-01T18:00:00Z")
	res.act(confirm, map[string]any{"id": r2, "ok": true, "rating": 3})
	// R3's promise (18:10) passes with the work not started: the promise
	// clock marks the breach and escalates it to the manager.
	at("2027-03-01T18:11:00Z")
	if _, err := s.app.Clock.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	at("2027-03-01T18:30:00Z")
	agent.act(callBack, map[string]any{"id": r2, "method": "PHONE", "sat": 2})
	at("2027-03-01T18:50:00Z")
	tech.act(start, map[string]any{"id": r2})
	at("2027-03-01T19:00:00Z")
	tech.act(complete, map[string]any{"id": r2, "note": "done again"})

	at("2027-03-02T01:00:00Z")
	r4 := res.submit(catB, "R4").ID
	at("2027-03-02T01:05:00Z")
	res.act(cancel, map[string]any{"id": r4, "reason": "not needed"})
	at("2027-03-02T02:00:00Z")
	r6 := res.submit(catA, "R6").ID
	at("2027-03-02T02:05:00Z")
	agent.act(accept, with(r6, promise("2027-03-02T02:20:00Z")))
	agent.act(assign, map[string]any{"id": r6, "to": tech.id})
	at("2027-03-02T02:10:00Z")
	tech.act(start, map[string]any{"id": r6})
	at("2027-03-02T02:30:00Z")
	tech.act(complete, map[string]any{"id": r6, "note": "done"})
	at("2027-03-02T02:40:00Z")
	res.act(confirm, map[string]any{"id": r6, "ok": true, "rating": 4})
	at("2027-03-02T16:00:00Z")
	res.submit(catA, "R5")

	// Read well after the window: backlog figures are taken at its end.
	at("2027-03-05T00:00:00Z")
	var propID string
	if err := s.app.DB.QueryRowContext(context.Background(), `SELECT id FROM properties WHERE code = $1`, code).Scan(&propID); err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{"p": propID, "from": "2027-03-01T00:00:00+08:00", "to": "2027-03-03T00:00:00+08:00"}
	var out struct {
		ServiceStats struct {
			kpiFigures
			Daily []kpiFigures
		}
	}
	manager.must(statsQuery, vars, &out)
	st := out.ServiceStats
	// Accept minutes 10, 20, 30, 5; first-completion minutes 60, 120, 30.
	st.kpiFigures.check(t, "window", kpiFigures{
		Total: 5, MedianAcceptMinutes: f(15), P90AcceptMinutes: f(27), MedianCompleteMinutes: f(60), P90CompleteMinutes: f(108),
		PromiseKeptRate: f(0.25), Breaches: 1, Escalations: 1, ReopenRate: f(1.0 / 3), CallbackRate: f(2.0 / 3),
		CallbacksOverdue: 1, AvgSatisfaction: f(3),
	}, map[string]int{"CLOSED": 1, "COMPLETED": 1, "ASSIGNED": 1, "CANCELLED": 1, "CONFIRMED": 1}, map[string]int{"kpi-a": 4, "kpi-b": 1})
	if len(st.Daily) != 2 || st.Daily[0].Date != "2027-03-01" || st.Daily[1].Date != "2027-03-02" {
		t.Fatalf("daily %+v", st.Daily)
	}
	st.Daily[0].check(t, "1 March", kpiFigures{
		Total: 2, MedianAcceptMinutes: f(15), P90AcceptMinutes: f(19), MedianCompleteMinutes: f(90), P90CompleteMinutes: f(114),
		PromiseKeptRate: f(0.5), ReopenRate: f(0.5), CallbackRate: f(1), AvgSatisfaction: f(3),
	}, map[string]int{"CLOSED": 1, "COMPLETED": 1}, map[string]int{"kpi-a": 2})
	st.Daily[1].check(t, "2 March", kpiFigures{
		Total: 3, MedianAcceptMinutes: f(17.5), P90AcceptMinutes: f(27.5), MedianCompleteMinutes: f(30), P90CompleteMinutes: f(30),
		PromiseKeptRate: f(0), Breaches: 1, Escalations: 1, ReopenRate: f(0), CallbackRate: f(0), CallbacksOverdue: 1,
	}, map[string]int{"ASSIGNED": 1, "CANCELLED": 1, "CONFIRMED": 1}, map[string]int{"kpi-a": 2, "kpi-b": 1})

	// A chart's series has every local day of the window: 3 March holds R5
	// alone, 4 March nothing, and both are there.
	var wide struct {
		ServiceStats struct{ Daily []kpiFigures }
	}
	manager.must(statsQuery, map[string]any{"p": propID, "from": "2027-03-01T00:00:00+08:00", "to": "2027-03-05T00:00:00+08:00"}, &wide)
	if d := wide.ServiceStats.Daily; len(d) != 4 || d[2].Date != "2027-03-03" || d[2].Total != 1 || d[3].Date != "2027-03-04" || d[3].Total != 0 {
		t.Fatalf("daily series %+v", d)
	}

	// Per worker: the technician did R1, R2 and R6, kept one promise of
	// four due (R3's passed undone), rated 5, 3, 4.
	var staff struct {
		StaffStats []struct {
			Person                                                        struct{ ID string }
			JobsDone, Ratings                                             int
			PromiseKeptRate, AvgRating, AvgTimeliness, AvgAttitude, Score *float64
		}
	}
	manager.must(`query($p: ID, $from: Time!, $to: Time!) { staffStats(propertyId: $p, from: $from, to: $to) {
		person { id } jobsDone ratings promiseKeptRate avgRating avgTimeliness avgAttitude score } }`, vars, &staff)
	if len(staff.StaffStats) != 1 {
		t.Fatalf("staff %+v", staff)
	}
	w := staff.StaffStats[0]
	if w.Person.ID != tech.id || w.JobsDone != 3 || w.Ratings != 3 || *w.PromiseKeptRate != 0.25 || *w.AvgRating != 4 ||
		*w.AvgTimeliness != 4 || *w.AvgAttitude != 5 || *w.Score != 4 {
		t.Errorf("technician's figures %+v", w)
	}

	// An empty window counts nothing: rates and medians are null.
	var empty struct{ ServiceStats kpiFigures }
	manager.must(statsQuery, map[string]any{"p": propID, "from": "2027-06-01T00:00:00+08:00", "to": "2027-06-02T00:00:00+08:00"}, &empty)
	empty.ServiceStats.check(t, "empty", kpiFigures{}, map[string]int{}, map[string]int{})

	// Who may read them: the property's service center and admins. A
	// manager elsewhere does not see the property at all; a technician of
	// it may not read its figures.
	other := s.login(t, "manager.cheung")
	other.fails("NOT_FOUND", statsQuery, vars)
	other.fails("NOT_FOUND", `query($p: ID, $from: Time!, $to: Time!) { staffStats(propertyId: $p, from: $from, to: $to) { jobsDone } }`, vars)
	tech.fails("FORBIDDEN", statsQuery, vars)
	res.fails("FORBIDDEN", statsQuery, map[string]any{"from": vars["from"], "to": vars["to"]})
	manager.fails("INVALID_INPUT", statsQuery, map[string]any{"p": propID, "from": vars["to"], "to": vars["from"]})
	var mine struct{ ServiceStats kpiFigures }
	manager.must(statsQuery, map[string]any{"from": vars["from"], "to": vars["to"]}, &mine)
	if mine.ServiceStats.Total != 5 {
		t.Errorf("without propertyId a manager reads their own property: %d", mine.ServiceStats.Total)
	}
	admin := s.login(t, "admin")
	var all struct{ ServiceStats kpiFigures }
	admin.must(statsQuery, map[string]any{"from": vars["from"], "to": vars["to"]}, &all)
	if all.ServiceStats.Total < 5 {
		t.Errorf("admin over all properties: %d", all.ServiceStats.Total)
	}

	// The CSV downloads carry the same, authorized the same way.
	query := "?propertyId=" + propID + "&from=2027-03-01T00:00:00%2B08:00&to=2027-03-03T00:00:00%2B08:00"
	rows := download(t, s, manager.token, "/export/requests.csv"+query, http.StatusOK)
	if len(rows) != 6 || rows[0][0] != "number" || rows[1][4] != "CLOSED" || rows[1][10] != "true" {
		t.Fatalf("requests.csv: %v", rows)
	}
	lines := download(t, s, manager.token, "/export/stats.csv"+query, http.StatusOK)
	found, categories := false, 0
	for _, l := range lines {
		if l[0] == "" && l[1] == "promise_kept_rate" && l[3] == "0.25" {
			found = true
		}
		if l[0] == "" && l[1] == "by_category" {
			// Keyed by property and category, so an export across
			// properties is not ambiguous.
			if !strings.Contains(l[2], "/") {
				t.Errorf("category key %q lacks its property", l[2])
			}
			categories++
		}
	}
	if !found || categories == 0 {
		t.Errorf("stats.csv has no window promise_kept_rate of 0.25 or no categories: %v", lines)
	}
	download(t, s, other.token, "/export/requests.csv"+query, http.StatusNotFound)
	download(t, s, "", "/export/stats.csv"+query, http.StatusUnauthorized)
	download(t, s, manager.token, "/export/stats.csv?from=yesterday&to=today", http.StatusBadRequest)
}

// download GETs an export and returns its CSV records (nil unless 200).
func download(t *testing.T, s *testServer, token, path string, status int) [][]string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, body, status)
	}
	if status != http.StatusOK {
		return nil
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
