// Package serverbin builds the server's binary for tests: once per test
// binary, into a folder removed when the tests end. It imports nothing of
// the service, so that the load tool's tests, which stand apart from it,
// build the server the one way every other test does (internal/testkit
// starts what it builds).
package serverbin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// buildTimeout bounds building the server.
const buildTimeout = 5 * time.Minute

// dir is where Path builds the server: a folder Main makes before the
// package's tests run and removes after.
var dir string

// Main runs a package's tests (call it from TestMain) with a folder for
// Path to build the server into, removed when they end, and exits.
func Main(m *testing.M) {
	d, err := os.MkdirTemp("", "flashsale-serverbin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "serverbin:", err)
		os.Exit(1)
	}
	dir = d
	code := m.Run()
	_ = os.RemoveAll(d)
	os.Exit(code)
}

var build = sync.OnceValues(func() (string, error) {
	if dir == "" {
		return "", errors.New("no folder to build it in: call serverbin.Main(m) from this package's TestMain")
	}
	bin := filepath.Join(dir, "flashsale")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/flashsale/flashsale/cmd/flashsale").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
})

// Path builds cmd/flashsale, once per test binary, and returns the binary's
// path. It is built without the race detector, whatever the test runs
// with: the server then runs at its real speed, as in a shop, and the test
// process (which is race-checked) is the client. The package's TestMain
// must call Main.
func Path(t testing.TB) string {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatalf("serverbin: build the server: %v", err)
	}
	return bin
}
