package audit

import (
	"context"
	"testing"
	"time"
)

type log []Entry

func (l *log) Audit(_ context.Context, e Entry) error { *l = append(*l, e); return nil }

func TestRecordEncodesBeforeAndAfter(t *testing.T) {
	var l log
	var none *struct{ A int }
	p := "prop"
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if err := Record(context.Background(), &l, Change{ActorID: "me", At: at, PropertyID: &p, Action: "setX", Entity: "x", EntityID: "1",
		Before: none, After: map[string]any{"a": 1}}); err != nil {
		t.Fatal(err)
	}
	e := l[0]
	if e.Before != nil {
		t.Errorf("a nil pointer before is %q, want no JSON", e.Before)
	}
	if string(e.After) != `{"a":1}` || e.Action != "setX" || e.ActorID != "me" || !e.At.Equal(at) || *e.PropertyID != "prop" {
		t.Errorf("entry %+v", e)
	}
	if err := Record(context.Background(), &l, Change{Action: "bad", After: func() {}}); err == nil {
		t.Error("a value that is not JSON was recorded")
	}
}
