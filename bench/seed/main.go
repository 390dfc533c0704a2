// Command seed writes the benchmarks' data set into a migrated database:
//
//	go run ./bench/seed -units 5000 -residents 10000
//
// It makes a property (code BENCH by default) with that many households and
// residents, 50 agents, 10 butlers, 40 technicians and a year of requests
// with their timelines. Everyone's password is bench1234; the usernames are
// bench.r1 … bench.r10000, bench.agent1 …, bench.butler1 …, bench.tech1 ….
// It applies the server's migrations first and does nothing when the
// property is there already. DATABASE_URL (or -db) names the database.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/kproperty/onestop/bench/dataset"
	"github.com/kproperty/onestop/internal/postgres"
)

func main() {
	o := dataset.Default()
	url := flag.String("db", os.Getenv("DATABASE_URL"), "PostgreSQL URL (default $DATABASE_URL)")
	flag.StringVar(&o.Code, "code", o.Code, "the property's code")
	flag.IntVar(&o.Units, "units", o.Units, "households")
	flag.IntVar(&o.Residents, "residents", o.Residents, "residents (resident i lives in unit i modulo units)")
	flag.IntVar(&o.Requests, "requests", o.Requests, "requests over the past year")
	flag.IntVar(&o.Agents, "agents", o.Agents, "service-center agents")
	flag.IntVar(&o.Butlers, "butlers", o.Butlers, "butlers (every other household is in a portfolio; 0: none)")
	flag.IntVar(&o.Technicians, "technicians", o.Technicians, "technicians")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "seed: set DATABASE_URL or -db")
		os.Exit(2)
	}
	ctx := context.Background()
	db, err := postgres.Open(ctx, *url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
	defer db.Close()
	// The server's own migrations, as it applies them at start-up.
	if err := db.Migrate(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		fmt.Fprintln(os.Stderr, "seed: migrate:", err)
		os.Exit(1)
	}
	start := time.Now()
	id, made, err := dataset.Seed(ctx, db.DB.DB, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
	if !made {
		fmt.Printf("property %s (%s) is there already: nothing written\n", o.Code, id)
		return
	}
	fmt.Printf("property %s (%s): %d units, %d residents, %d requests; %s\n", o.Code, id, o.Units, o.Residents, o.Requests, time.Since(start).Round(time.Millisecond))
}
