package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/config"
)

// shellBlock is one ```sh block of a document: a walk-through a reader
// pastes into a terminal. Commands that are not walk-throughs (make
// targets) are fenced ```shell instead and are not run.
type shellBlock struct {
	file string
	line int
	text string
}

// shellBlocks reads the ```sh blocks of a Markdown file, in order.
func shellBlocks(t *testing.T, path string) []shellBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []shellBlock
		cur    *shellBlock
		n      int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh":
			cur = &shellBlock{file: path, line: n}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: unclosed ```sh block", path, cur.line)
	}
	return blocks
}

// walkthroughScript joins a document's blocks into one script, as a reader
// runs them one after another in one terminal. It stops at the first
// failing command (a failed call, a failed check such as
// `test "$STATUS" = CLOSED`) and says after each block that it finished.
func walkthroughScript(blocks []shellBlock) string {
	var b strings.Builder
	b.WriteString("set -e\nset -o pipefail\n")
	for _, blk := range blocks {
		b.WriteString(blk.text)
		fmt.Fprintf(&b, "echo 'walk-through block %s:%d finished'\n", blk.file, blk.line)
	}
	return b.String()
}

// Every walk-through in README.md and docs/ runs as written, in bash and
// (when it is installed) zsh, against a server started as `make run` starts
// it: the API at $API, demo data, the real clock.
func TestWalkthroughs(t *testing.T) {
	for _, tool := range []string{"curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the walk-throughs need %s, which is not installed", tool)
		}
	}
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files := append([]string{"README.md"}, docs...)

	cfg := config.Config{
		DatabaseURL:  testDBURL,
		JWTSecret:    "test-secret-test-secret-test-secret!",
		DemoData:     true,
		Dev:          true,
		AccessTTL:    15 * time.Minute,
		PasswordCost: 4,
	}
	app, err := newApp(context.Background(), cfg, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler) // on a loopback port
	t.Cleanup(func() { srv.Close(); app.Close() })

	ran := 0
	for _, file := range files {
		blocks := shellBlocks(t, file)
		if len(blocks) == 0 {
			continue
		}
		script := walkthroughScript(blocks)
		for _, shell := range []string{"bash", "zsh"} {
			t.Run(file+"/"+shell, func(t *testing.T) {
				path, err := exec.LookPath(shell)
				if err != nil {
					t.Skipf("%s is not installed: the walk-throughs are not checked in it", shell)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, path, "-c", script)
				cmd.Dir = t.TempDir()
				cmd.Env = append(os.Environ(), "API="+srv.URL+"/query")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s in %s: %v\n%s", file, shell, err, out)
				}
				for _, blk := range blocks {
					done := fmt.Sprintf("walk-through block %s:%d finished", blk.file, blk.line)
					if !strings.Contains(string(out), done) {
						t.Fatalf("the block at %s:%d did not finish\n%s", blk.file, blk.line, out)
					}
				}
			})
			ran++
		}
	}
	if ran == 0 {
		t.Fatal("no ```sh block found in README.md or docs/")
	}
}
