package graph

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/frontdesk"
)

// orNil hands a service's value to gqlgen as a pointer, or nil with the
// error, so a refused call answers null rather than an empty object.
func orNil[T any](v T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// frontDesk writes the frontDeskStats figures in the long form of
// stats.csv: date (empty for the whole window), metric, key (a guard's or
// post's id for the per-guard and per-post figures), value (empty where
// the figure is null).
func (h *exporter) frontDesk(ctx context.Context, w http.ResponseWriter, a *auth.Actor, propertyID *string, from, to time.Time) {
	if propertyID == nil {
		h.fail(ctx, w, apperr.Invalid("propertyId", "name the property"))
		return
	}
	s, err := h.d.FrontDeskService.Stats(ctx, a, *propertyID, from, to)
	if err != nil {
		h.fail(ctx, w, err)
		return
	}
	out := startCSV(w, "frontdesk.csv")
	err = out.write([]string{"date", "metric", "key", "value"})
	line := func(date, metric, key, value string) {
		if err == nil {
			err = out.write([]string{date, metric, key, value})
		}
	}
	line("", "visitors", "", strconv.Itoa(s.Visitors))
	line("", "pre_registered_share", "", csvFloat(s.PreRegisteredShare()))
	hand := func(prefix string, hb frontdesk.HandBack) {
		line("", prefix+"_taken", hb.Key, strconv.Itoa(hb.Taken))
		line("", prefix+"_returned", hb.Key, strconv.Itoa(hb.Returned))
		line("", prefix+"_median_seconds", hb.Key, csvFloat(hb.MedianSeconds))
		line("", prefix+"_p90_seconds", hb.Key, csvFloat(hb.P90Seconds))
		line("", prefix+"_within_25s_share", hb.Key, csvFloat(hb.WithinShare()))
	}
	hand("id", s.HandBack)
	for _, g := range s.ByGuard {
		hand("id_by_guard", g)
	}
	for _, p := range s.ByPost {
		hand("id_by_post", p)
	}
	an := s.Answers
	line("", "walk_ins", "", strconv.Itoa(an.WalkIns))
	line("", "walk_ins_admitted", "", strconv.Itoa(an.Admitted))
	line("", "walk_ins_declined", "", strconv.Itoa(an.Declined))
	line("", "walk_ins_unanswered", "", strconv.Itoa(an.Unanswered))
	line("", "walk_ins_pending", "", strconv.Itoa(an.Pending))
	line("", "answer_median_seconds", "", csvFloat(an.MedianSeconds))
	line("", "answer_p90_seconds", "", csvFloat(an.P90Seconds))
	g := s.Greeting
	line("", "greeting_windows", "", strconv.Itoa(g.Windows))
	line("", "greeting_staffed", "", strconv.Itoa(g.Staffed))
	line("", "greeting_late", "", strconv.Itoa(g.Late))
	line("", "greeting_missed", "", strconv.Itoa(g.Missed))
	line("", "greeting_upcoming", "", strconv.Itoa(g.Upcoming))
	for _, p := range s.Posts {
		line("", "post_windows", p.PostID, strconv.Itoa(p.Windows))
		line("", "post_covered", p.PostID, strconv.Itoa(p.Covered))
		line("", "post_coverage_share", p.PostID, csvFloat(p.Share()))
	}
	for _, d := range s.Days {
		line(d.Date, "visitors", "", strconv.Itoa(d.Visitors))
		line(d.Date, "pre_registered", "", strconv.Itoa(d.PreRegistered))
		line(d.Date, "walk_ins", "", strconv.Itoa(d.WalkIns))
	}
	if err == nil {
		err = out.close()
	}
	if err != nil {
		h.abort(ctx, "export front desk", err)
	}
}

// The front desk's unpaged lists and the most items each answers.
func init() {
	for field, n := range map[string]int{
		"Query.myVisitorPasses":            100,
		"Query.doNotAdmitList":             100,
		"Mutation.doNotAdmit":              100,
		"Query.posts":                      50,
		"Query.greetingRota":               31,
		"Mutation.generateGreetingRota":    31,
		"VisitorArrival.warnings":          4,
		"GuardPost.standingWindows":        8,
		"GuardPost.shifts":                 3,
		"GuardPost.onDuty":                 20,
		"FrontDeskStats.byDay":             400,
		"FrontDeskStats.idHandBackByGuard": 100,
		"FrontDeskStats.idHandBackByPost":  50,
		"FrontDeskStats.postCoverage":      50,
	} {
		listBounds[field] = n
	}
	// Each frontDeskStats scans the window's visits and check-ins.
	DefaultLimits.Expensive["frontDeskStats"] = 2
}
