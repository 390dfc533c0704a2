package main

import "testing"

// Lists page forward with Relay's PageInfo: the first page has nothing
// before it, a page asked for with after does; each names its first and
// last cursors.
func TestPageInfo(t *testing.T) {
	s := sharedServer(t)
	e := newEstate(t, s, "PI", nil)
	resident := s.login(t, e.Resident)
	for _, d := range []string{"One", "Two", "Three"} {
		resident.submit(e.Cleaning, d)
	}
	type page struct {
		Requests struct {
			Edges    []struct{ Cursor string }
			PageInfo struct {
				HasNextPage, HasPreviousPage bool
				StartCursor, EndCursor       *string
			}
		}
	}
	q := `query($after: String) { requests(first: 2, after: $after) { edges { cursor }
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`
	var first page
	resident.must(q, nil, &first)
	p := first.Requests
	if len(p.Edges) != 2 || !p.PageInfo.HasNextPage || p.PageInfo.HasPreviousPage ||
		p.PageInfo.StartCursor == nil || *p.PageInfo.StartCursor != p.Edges[0].Cursor ||
		p.PageInfo.EndCursor == nil || *p.PageInfo.EndCursor != p.Edges[1].Cursor {
		t.Fatalf("first page: %+v", p)
	}
	var second page
	resident.must(q, map[string]any{"after": *p.PageInfo.EndCursor}, &second)
	p = second.Requests
	if len(p.Edges) != 1 || p.PageInfo.HasNextPage || !p.PageInfo.HasPreviousPage ||
		p.PageInfo.StartCursor == nil || *p.PageInfo.StartCursor != p.Edges[0].Cursor {
		t.Fatalf("second page: %+v", p)
	}
}
