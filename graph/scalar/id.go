package scalar

import (
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
)

// MarshalID writes an id as a string, as every GraphQL ID is.
func MarshalID(s string) graphql.Marshaler { return graphql.MarshalID(s) }

// UnmarshalID reads an id. The server's ids are UUIDs in their canonical
// form (lower case, with hyphens) or numbers (events, notifications). A
// UUID spelled another way (upper case, as some phones write the
// clientRequestId they make; in braces; without hyphens; urn:uuid:) is
// read as the canonical spelling of the same UUID. Left as sent, it would
// reach PostgreSQL, which reads some of those spellings and fails on
// others, and the rules that compare ids as text would tell it from the
// canonical one. Anything else passes as it is, for the field to judge (an
// unknown id is NOT_FOUND there).
func UnmarshalID(v any) (string, error) {
	s, err := graphql.UnmarshalID(v)
	if err != nil {
		return "", apperr.Invalid("", "an id is a string")
	}
	if u, err := uuid.Parse(s); err == nil {
		return u.String(), nil
	}
	return s, nil
}

// MarshalInt64ID writes a numeric id (an event's, a notification's) as
// the string every GraphQL ID is. Bound to int64 fields directly, such an
// id needs no resolver: a live event's payload is written without
// scheduling a field of its own for it.
func MarshalInt64ID(i int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, `"`+strconv.FormatInt(i, 10)+`"`)
	})
}

// UnmarshalInt64ID reads a numeric id, sent as a string or a number.
func UnmarshalInt64ID(v any) (int64, error) {
	s, err := graphql.UnmarshalID(v)
	if err != nil {
		return 0, apperr.Invalid("", "an id is a string")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, apperr.Invalid("", "this id is a number")
	}
	return n, nil
}
