package load

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The real server, for the tests that measure it or check its books: built
// from ./cmd/flashsale once per test binary, and run as a process of its
// own, as the benchmarks run it.

var flashsaleBuild struct {
	once     sync.Once
	dir, bin string
	err      error
	skip     string
}

// TestMain removes the real server's build once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	if flashsaleBuild.dir != "" {
		os.RemoveAll(flashsaleBuild.dir)
	}
	os.Exit(code)
}

// startFlashsale starts the real server with args (and --addr, on a free
// loopback port) through StartChildOnFreePort, waits until it is healthy
// and returns its base URL; it is stopped when t ends, and a server that
// does not stop cleanly fails t.
func startFlashsale(t testing.TB, args ...string) (url string) {
	t.Helper()
	b := &flashsaleBuild
	b.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			b.skip = "no go command on PATH to build ./cmd/flashsale with"
			return
		}
		if b.dir, b.err = os.MkdirTemp("", "flashsale-load-test-"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "flashsale")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, goBin, "build", "-o", b.bin, "github.com/flashsale/flashsale/cmd/flashsale").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("%w\n%s", err, out)
		}
	})
	switch {
	case b.skip != "":
		t.Skip(b.skip)
	case b.err != nil:
		t.Fatalf("build ./cmd/flashsale: %v", b.err)
	}
	c, err := StartChildOnFreePort(t.Context(), "flashsale", b.bin, args)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop the server: %v", err)
		}
	})
	return c.URL()
}
