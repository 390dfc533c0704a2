# OneStop. `make run` serves the API with demo data; `make test` runs every test.
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/onestop?sslmode=disable
REDIS_URL ?= redis://127.0.0.1:6379/0
export DATABASE_URL REDIS_URL

.PHONY: run test check generate bench bench-submit bench-read bench-live latency

# Serves on 127.0.0.1:8080 (HTTP_ADDR=:8080 to be reachable from elsewhere)
# and logs the GraphiQL URL.
run:
	./.ci/services.sh --create-db
	@echo "building… (the first build downloads and compiles the dependencies: a few minutes)"
	go build -o onestop .
	DEV=1 DEMO_DATA=1 ./onestop

test:
	./.ci/services.sh
	go test -race -count=1 -timeout 30m ./...

# Fails when code is unformatted, vet or staticcheck complain, the schema
# lacks a description, breaks the Relay connection rules or breaks the last
# release (docs/operations.md), or generated code is stale.
check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run gofmt -w"; exit 1; }
	go vet ./...
	go tool staticcheck ./...
	go test -count=1 -run 'TestSchema|TestBreakingChanges' ./graph/
	go generate ./...
	@git diff --exit-code -- graph/ || { echo "generated code is stale: run make generate and commit"; exit 1; }

generate:
	go generate ./...

# Every benchmark but the live path's (make bench-live: minutes at 10,000
# sockets): KPI queries over a year of a large property (docs/kpis.md),
# commit-to-phone latency, submission throughput, request(id) next to a
# plain handler, the list next to PostGraphile; each prints its ratio.
bench:
	./.ci/services.sh
	go test -run '^$$' -bench . -skip 'Live' -benchmem ./...

# submitRequest throughput with 16 concurrent residents, next to pgbench
# running the same statements (bench/submit.pgbench) on the same database
# (docs/performance.md).
bench-submit:
	./.ci/services.sh
	go test -run '^$$' -bench SubmitRequest16 -benchtime 2000x -count 3 .

# request(id) next to a plain net/http + sqlx handler (bench/plain), and
# requests(first: 20) as each role next to PostGraphile 4.14 (through npx),
# with its SQL statements counted (docs/performance.md).
bench-read:
	./.ci/services.sh
	go test -run '^$$' -bench 'RequestByID16' -benchtime 2000x -count 3 .
	go test -run '^$$' -bench 'RequestsList16' -benchtime 400x -count 2 .

# The live path next to a bare gqlgen broadcast server (bench/bare):
# 10,000 residents and 50 agents subscribed, 20 changes a second for 60 s,
# memory per idle subscription; the same audience over 20 properties (5
# agents each), 100 changes a second; then 1,000 subscribers of one change.
# BENCH_LIVE_N and BENCH_LIVE_SECONDS make it smaller (docs/performance.md).
bench-live:
	./.ci/services.sh
	go test -run '^$$' -bench 'LiveAudience' -benchtime 1x -count 1 -timeout 30m .
	go test -run '^$$' -bench 'LiveProperties' -benchtime 1x -count 1 -timeout 30m .
	go test -run '^$$' -bench 'LiveOneChange' -benchtime 1x -count 1 -timeout 30m .

# Commit-to-phone latency with 1,000 websocket subscribers, next to raw Redis
# publish-to-receive latency (docs/latency.md).
latency:
	./.ci/services.sh
	go test -run '^$$' -bench CommitToPhone -benchtime 1x -count 3 .
