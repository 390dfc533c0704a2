package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/kproperty/onestop/internal/config"
)

// In development GraphiQL at / loads nothing from the internet: the page
// names only assets the server itself serves, each with its content type.
func TestGraphiQLServedFromTheBinary(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.Dev = true })
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	resp, page := get("/")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(page, "://") {
		t.Fatalf("the page names an external URL:\n%s", page)
	}
	if !strings.Contains(page, "Authorization") || !strings.Contains(page, "Bearer") {
		t.Fatal("the page does not say how to send the access token")
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	want := map[string]string{".js": "text/javascript", ".css": "text/css"}
	seen := map[string]bool{}
	for _, ref := range refs {
		path := ref[1]
		ext := path[strings.LastIndex(path, "."):]
		resp, body := get(path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), want[ext]) || want[ext] == "" {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if len(body) < 1000 {
			t.Errorf("GET %s: only %d bytes", path, len(body))
		}
		seen[ext] = true
	}
	if !seen[".js"] || !seen[".css"] {
		t.Fatalf("the page names %v: want its scripts and styles", refs)
	}
}

// GraphiQL reads the schema before anyone signs in: in development a query
// of the schema alone needs no token; everything else still does, and
// without development mode there is no introspection at all.
func TestDevIntrospectionWithoutToken(t *testing.T) {
	dev := startServer(t, func(c *config.Config) { c.Dev = true })
	var out struct {
		Schema struct{ QueryType struct{ Name string } } `json:"__schema"`
	}
	dev.anon(t).must(`{ __schema { queryType { name } } }`, nil, &out)
	if out.Schema.QueryType.Name != "Query" {
		t.Fatalf("introspection answered %+v", out)
	}
	dev.anon(t).fails("UNAUTHENTICATED", `{ __schema { queryType { name } } me { id } }`, nil)
	dev.anon(t).fails("UNAUTHENTICATED", `{ me { id } }`, nil)
	if r := sharedServer(t).anon(t).do(`{ __schema { queryType { name } } }`, nil); len(r.Errors) == 0 {
		t.Fatal("introspection without development mode answered")
	}
}
