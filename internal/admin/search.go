package admin

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/request"
)

// Found is what a console search found at one property.
type Found struct {
	Requests []*request.Request
	People   []person.Person
	Units    []property.Unit
}

// Searcher finds text at a property. pattern is a LIKE pattern that
// matches the text anywhere; the stores answer it from trigram indexes,
// which need no word boundaries and so find Chinese as well as English.
type Searcher interface {
	Search(ctx context.Context, propertyID, pattern string, limit int) (*Found, error)
}

// Search finds a property's requests (by number, description or any note
// on their timeline), people (residents living there now and staff, by
// name in either language) and units (by code), newest requests first.
// For the property's service center and admins.
func (s *Service) Search(ctx context.Context, a *auth.Actor, propertyID, text string, limit int) (*Found, error) {
	if err := s.center(a, propertyID); err != nil {
		return nil, err
	}
	text = strings.TrimSpace(text)
	if n := utf8.RuneCountInString(text); n < 1 || n > 100 {
		return nil, apperr.Invalid("text", "text must be 1-100 characters")
	}
	if limit < 1 || limit > 100 {
		return nil, apperr.Invalid("first", "first must be 1-100")
	}
	searcher, ok := s.store.(Searcher)
	if !ok {
		return nil, apperr.New(apperr.Internal, "search is not available")
	}
	return searcher.Search(ctx, propertyID, "%"+likeEscape(text)+"%", limit)
}

// likeEscape makes text match itself literally in a LIKE pattern.
func likeEscape(text string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text)
}
