// Package audit is the log of administrative changes: who changed what,
// when, and how it was before and after. Every noun that has an
// administrative change (properties, catalogues, dispatch rules, butler
// portfolios, staff) writes its entry through a Writer inside the
// transaction of the change, so a change and its entry commit together or
// not at all. The package imports no other domain package, so any of them
// may use it.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// Entry is one line of the audit log.
type Entry struct {
	ID         int64     `db:"id"`
	At         time.Time `db:"at"`
	ActorID    string    `db:"actor_id"`
	PropertyID *string   `db:"property_id"`
	Action     string    `db:"action"`
	Entity     string    `db:"entity"`
	EntityID   string    `db:"entity_id"`
	Before     []byte    `db:"before"`
	After      []byte    `db:"after"`
}

// Writer writes an entry in the transaction of the change it records; the
// storage's transactions implement it.
type Writer interface {
	Audit(ctx context.Context, e Entry) error
}

// Change is one administrative change to record: before is nil for a
// creation, after nil for a removal.
type Change struct {
	ActorID    string
	At         time.Time
	PropertyID *string
	// Action is the operation, named as the API names it (setDispatchRule).
	Action string
	// Entity is the kind of thing changed (unit, serviceCategory) and
	// EntityID its id.
	Entity, EntityID string
	Before, After    any
}

// Record writes the change through w, with before and after as JSON.
func Record(ctx context.Context, w Writer, c Change) error {
	before, err := encode(c.Before)
	if err != nil {
		return fmt.Errorf("audit %s: before: %w", c.Action, err)
	}
	after, err := encode(c.After)
	if err != nil {
		return fmt.Errorf("audit %s: after: %w", c.Action, err)
	}
	return w.Audit(ctx, Entry{At: c.At, ActorID: c.ActorID, PropertyID: c.PropertyID, Action: c.Action,
		Entity: c.Entity, EntityID: c.EntityID, Before: before, After: after})
}

// encode marshals v; nil, including a nil pointer, map or slice, is no
// JSON at all (SQL NULL), which the log reads as "did not exist".
func encode(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
	}
	return json.Marshal(v)
}
