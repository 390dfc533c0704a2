package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kproperty/onestop/graph"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/postgres"
	"github.com/kproperty/onestop/internal/stats"
)

// failingExport is a stats store whose export breaks after some rows, as
// a query does when its database connection is lost half-way.
type failingExport struct {
	stats.Store
	rows int
}

func (f failingExport) ExportRequests(_ context.Context, _ stats.Query, fn func(*stats.RequestRow) error) error {
	for i := range f.rows {
		if err := fn(&stats.RequestRow{Number: fmt.Sprintf("HV-%06d", i), Status: "CLOSED", CreatedAt: testEpoch}); err != nil {
			return err
		}
	}
	return errors.New("connection lost")
}

// An export that fails after its first rows must not end like a complete
// file: the download breaks, so the console (or curl) reports it.
func TestExportFailureBreaksTheDownload(t *testing.T) {
	s := sharedServer(t)
	admin := s.login(t, "admin")
	authSvc := auth.NewService(postgres.NewAuthStore(s.app.DB), s.clock, auth.Config{Secret: []byte("test-secret-test-secret-test-secret!"), AccessTTL: 15 * time.Minute})
	for _, rows := range []int{3, 2000} { // before and after the first flush
		t.Run(fmt.Sprint(rows), func(t *testing.T) {
			h := graph.NewExportHandler(graph.Deps{
				AuthService:  authSvc,
				StatsService: stats.NewService(failingExport{rows: rows}, s.clock),
			}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			srv := httptest.NewServer(h)
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/export/requests.csv?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z", nil)
			req.Header.Set("Authorization", "Bearer "+admin.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return // the server gave up before the headers: the client knows
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err == nil {
				t.Fatalf("a failed export read as complete: %d, %d bytes", resp.StatusCode, len(body))
			}
		})
	}
}
