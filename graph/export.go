package graph

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/stats"
)

// NewExportHandler serves the console's CSV downloads, authorized like the
// serviceStats query with the same Bearer token:
//
//	GET /export/requests.csv?propertyId=&from=&to=   one line per request
//	GET /export/stats.csv?propertyId=&from=&to=      the serviceStats figures
//	GET /export/audit.csv?propertyId=                the audit log, newest first
//
// from and to are RFC 3339 times; propertyId is optional as in the query.
// Rows are written as the database yields them, so a year of requests is
// never held in memory.
func NewExportHandler(d Deps, log *slog.Logger) http.Handler {
	h := &exporter{d: d, log: log}
	return withRequestID(authenticate(d.AuthService, http.HandlerFunc(h.serve)))
}

type exporter struct {
	d   Deps
	log *slog.Logger
}

func (h *exporter) serve(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a, err := h.actor(ctx, r)
	if err != nil {
		h.fail(ctx, w, err)
		return
	}
	q := r.URL.Query()
	var propertyID *string
	if p := q.Get("propertyId"); p != "" {
		propertyID = &p
	}
	if strings.HasSuffix(r.URL.Path, "/audit.csv") {
		h.audit(ctx, w, a, propertyID)
		return
	}
	from, err := parseTime(q, "from")
	if err != nil {
		h.fail(ctx, w, err)
		return
	}
	to, err := parseTime(q, "to")
	if err != nil {
		h.fail(ctx, w, err)
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/requests.csv"):
		h.requests(ctx, w, a, propertyID, from, to)
	case strings.HasSuffix(r.URL.Path, "/stats.csv"):
		h.stats(ctx, w, a, propertyID, from, to)
	case strings.HasSuffix(r.URL.Path, "/frontdesk.csv"):
		h.frontDesk(ctx, w, a, propertyID, from, to)
	default:
		http.NotFound(w, r)
	}
}

// actor is the caller the authenticate middleware found, or why it found
// none.
func (h *exporter) actor(ctx context.Context, _ *http.Request) (*auth.Actor, error) {
	if a := auth.ActorFrom(ctx); a != nil {
		return a, nil
	}
	if e, ok := authErrFrom(ctx); ok {
		return nil, e
	}
	return nil, apperr.New(apperr.Unauthenticated, "send Authorization: Bearer <access token>")
}

func parseTime(q map[string][]string, field string) (time.Time, error) {
	v := ""
	if vs := q[field]; len(vs) > 0 {
		v = vs[0]
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, apperr.Invalid(field, "%s must be an RFC 3339 time such as 2026-11-01T00:00:00+08:00", field)
	}
	return t, nil
}

// fail answers before any CSV is written, with the status matching the
// error code and the same generic message as GraphQL for internal errors.
func (h *exporter) fail(ctx context.Context, w http.ResponseWriter, err error) {
	e, ok := apperr.As(err)
	if !ok {
		h.log.Error("export", "err", err, "requestId", RequestID(ctx))
		e = apperr.New(apperr.Internal, "internal error (request id %s)", RequestID(ctx))
	}
	status := map[apperr.Code]int{
		apperr.Unauthenticated: http.StatusUnauthorized,
		apperr.Forbidden:       http.StatusForbidden,
		apperr.NotFound:        http.StatusNotFound,
		apperr.InvalidInput:    http.StatusBadRequest,
		apperr.Conflict:        http.StatusConflict,
		apperr.RateLimited:     http.StatusTooManyRequests,
	}[e.Code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%s: %s\n", e.Code, e.Message)
}

// csvOut writes CSV lines, flushing every so often so the download starts
// at once and memory stays flat.
type csvOut struct {
	w     *csv.Writer
	flush func()
	n     int
}

func startCSV(w http.ResponseWriter, filename string) *csvOut {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", filename))
	out := &csvOut{w: csv.NewWriter(w), flush: func() {}}
	if f, ok := w.(http.Flusher); ok {
		out.flush = f.Flush
	}
	return out
}

func (o *csvOut) write(rec []string) error {
	if err := o.w.Write(rec); err != nil {
		return err
	}
	if o.n++; o.n%500 == 0 {
		o.w.Flush()
		o.flush()
	}
	return o.w.Error()
}

func (o *csvOut) close() error {
	o.w.Flush()
	return o.w.Error()
}

func (h *exporter) requests(ctx context.Context, w http.ResponseWriter, a *auth.Actor, propertyID *string, from, to time.Time) {
	// Authorize before the first byte, so a refusal gets its status code.
	if _, err := h.d.StatsService.Scope(a, propertyID, from, to); err != nil {
		h.fail(ctx, w, err)
		return
	}
	out := startCSV(w, "requests.csv")
	header := []string{"number", "property", "category", "unit", "status", "channel", "created_at", "accepted_at",
		"completed_at", "promised_at", "promise_kept", "assignee", "first_responder", "rating", "timeliness",
		"attitude", "reopened", "callback_satisfaction"}
	err := out.write(header)
	if err == nil {
		err = h.d.StatsService.ExportRequests(ctx, a, propertyID, from, to, func(r *stats.RequestRow) error {
			return out.write([]string{r.Number, r.Property, r.Category, r.Unit, r.Status, r.Channel,
				csvTime(&r.CreatedAt), csvTime(r.AcceptedAt), csvTime(r.CompletedAt), csvTime(r.PromisedAt),
				csvBool(r.PromiseKept), csvStr(r.Assignee), csvStr(r.FirstResponder), csvInt(r.Rating),
				csvInt(r.RatingTimeliness), csvInt(r.RatingAttitude), strconv.FormatBool(r.Reopened), csvInt(r.Satisfaction)})
		})
	}
	if err == nil {
		err = out.close()
	}
	if err != nil {
		h.abort(ctx, "export requests", err)
	}
}

// stats writes the serviceStats figures in long form, one figure per line:
// date (empty for the whole window), metric, key (a status or category
// code for the counts), value (empty where the figure is null).
func (h *exporter) stats(ctx context.Context, w http.ResponseWriter, a *auth.Actor, propertyID *string, from, to time.Time) {
	s, err := h.d.StatsService.ServiceStats(ctx, a, propertyID, from, to)
	if err != nil {
		h.fail(ctx, w, err)
		return
	}
	codes, err := h.categoryCodes(ctx, s)
	if err != nil {
		h.fail(ctx, w, err)
		return
	}
	out := startCSV(w, "stats.csv")
	err = out.write([]string{"date", "metric", "key", "value"})
	write := func(date string, f *stats.Figures) {
		line := func(metric, key, value string) {
			if err == nil {
				err = out.write([]string{date, metric, key, value})
			}
		}
		line("total", "", strconv.Itoa(f.Total))
		for _, c := range f.ByStatus {
			line("by_status", c.Key, strconv.Itoa(c.Count))
		}
		for _, c := range f.ByCategory {
			line("by_category", codes[c.Key], strconv.Itoa(c.Count))
		}
		line("median_accept_minutes", "", csvFloat(f.MedianAcceptMinutes))
		line("p90_accept_minutes", "", csvFloat(f.P90AcceptMinutes))
		line("median_complete_minutes", "", csvFloat(f.MedianCompleteMinutes))
		line("p90_complete_minutes", "", csvFloat(f.P90CompleteMinutes))
		line("promise_kept_rate", "", csvFloat(f.PromiseKeptRate))
		line("breaches", "", strconv.Itoa(f.Breaches))
		line("escalations", "", strconv.Itoa(f.Escalations))
		line("reopen_rate", "", csvFloat(f.ReopenRate))
		line("callback_rate", "", csvFloat(f.CallbackRate))
		line("callbacks_overdue", "", strconv.Itoa(f.CallbacksOverdue))
		line("avg_satisfaction", "", csvFloat(f.AvgSatisfaction))
	}
	write("", &s.Figures)
	for i := range s.Daily {
		write(s.Daily[i].Date, &s.Daily[i].Figures)
	}
	if err == nil {
		err = out.close()
	}
	if err != nil {
		h.abort(ctx, "export stats", err)
	}
}

// abort ends a download that failed after its status line went out. A
// plain return would end the chunked body properly and the file would look
// complete; aborting the handler makes net/http drop the connection without
// the final chunk, so every client reports a truncated download.
func (h *exporter) abort(ctx context.Context, what string, err error) {
	if ctx.Err() == nil {
		h.log.Error(what, "err", err, "requestId", RequestID(ctx))
	}
	panic(http.ErrAbortHandler)
}

func (h *exporter) categoryCodes(ctx context.Context, s *stats.ServiceStats) (map[string]string, error) {
	seen := map[string]bool{}
	var ids []string
	for _, c := range s.ByCategory {
		if !seen[c.Key] {
			seen[c.Key] = true
			ids = append(ids, c.Key)
		}
	}
	cats, err := h.d.Directory.Categories(ctx, ids)
	if err != nil {
		return nil, err
	}
	var propIDs []string
	for _, c := range cats {
		propIDs = append(propIDs, c.PropertyID)
	}
	props, err := h.d.Directory.Properties(ctx, propIDs)
	if err != nil {
		return nil, err
	}
	propCode := make(map[string]string, len(props))
	for _, p := range props {
		propCode[p.ID] = p.Code
	}
	// Every property has its own catalogue, and an admin's export spans
	// them all: "HV/plumbing" says whose plumbing.
	codes := make(map[string]string, len(cats))
	for _, c := range cats {
		codes[c.ID] = propCode[c.PropertyID] + "/" + c.Code
	}
	return codes, nil
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func csvStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func csvInt(v *int) string {
	if v == nil {
		return ""
	}
	return strconv.Itoa(*v)
}

func csvBool(v *bool) string {
	if v == nil {
		return ""
	}
	return strconv.FormatBool(*v)
}

func csvFloat(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}
