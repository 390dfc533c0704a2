package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A call the endpoint cannot take (a GET, or a POST that is not JSON) is told
// what to send, with an extensions.code like every other error.
func TestUnsupportedTransportSaysWhatToSend(t *testing.T) {
	s := sharedServer(t)
	cases := []struct {
		name, method, contentType string
		status                    int
	}{
		{"GET", http.MethodGet, "", http.StatusMethodNotAllowed},
		{"form POST", http.MethodPost, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"POST without a content type", http.MethodPost, "", http.StatusUnsupportedMediaType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.method == http.MethodPost {
				body = strings.NewReader(`{"query": "{ me { id } }"}`)
			}
			req, _ := http.NewRequest(c.method, s.URL+"/query?query=%7Bme%7Bid%7D%7D", body)
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var out gqlResponse
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatalf("decode %q: %v", raw, err)
			}
			if resp.StatusCode != c.status || out.code() != "INVALID_INPUT" {
				t.Fatalf("status %d, body %s; want %d with code INVALID_INPUT", resp.StatusCode, raw, c.status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
			if !strings.Contains(out.Errors[0].Message, "Content-Type: application/json") {
				t.Fatalf("the message %q does not say what to send", out.Errors[0].Message)
			}
		})
	}
}
