package graph

import "encoding/json"

// deref reads an optional string argument, empty when omitted.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// jsonText shows a stored JSON document as text, null when there is none.
func jsonText(b json.RawMessage) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}
