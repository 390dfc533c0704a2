package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/text/language"

	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
)

// jsonText shows a stored JSON document as text, null when there is none.
func jsonText(b json.RawMessage) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

// audit writes the audit log as CSV, newest first, authorized like the
// auditLog query: a page at a time, so the whole log is never in memory.
func (h *exporter) audit(ctx context.Context, w http.ResponseWriter, a *auth.Actor, propertyID *string) {
	page, err := h.d.AdminService.AuditLog(ctx, a, propertyID, 0, 100)
	if err != nil {
		h.fail(ctx, w, err)
		return
	}
	out := startCSV(w, "audit.csv")
	err = out.write([]string{"id", "at", "actor_id", "actor", "property_id", "action", "entity", "entity_id", "before", "after"})
	for err == nil && len(page) > 0 {
		ids := make([]string, len(page))
		for i, e := range page {
			ids[i] = e.ActorID
		}
		var people []person.Person
		if people, err = h.d.Directory.People(ctx, ids); err != nil {
			break
		}
		names := map[string]string{}
		for _, p := range people {
			names[p.ID] = p.Name
		}
		for _, e := range page {
			if err = out.write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), e.ActorID, names[e.ActorID],
				deref(e.PropertyID), e.Action, e.Entity, e.EntityID, string(e.Before), string(e.After)}); err != nil {
				break
			}
		}
		if err == nil {
			page, err = h.d.AdminService.AuditLog(ctx, a, propertyID, page[len(page)-1].ID, 100)
		}
	}
	if err == nil {
		err = out.close()
	}
	if err != nil {
		h.abort(ctx, "export audit log", err)
	}
}

type chineseKey struct{}

// withLanguage notes whether the caller's Accept-Language prefers Chinese,
// so that names of places and people answer in it where one is known.
func withLanguage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Accept-Language"); h != "" {
			if tags, _, err := language.ParseAcceptLanguage(h); err == nil && len(tags) > 0 {
				if base, _ := tags[0].Base(); base.String() == "zh" {
					r = r.WithContext(context.WithValue(r.Context(), chineseKey{}, true))
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// localName is a name in the caller's language: Chinese when they prefer
// it and it is known, else English (or Chinese, the only one known).
func localName(ctx context.Context, en, zh string) string {
	if chinese, _ := ctx.Value(chineseKey{}).(bool); (chinese && zh != "") || en == "" {
		return zh
	}
	return en
}
