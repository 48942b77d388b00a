package load

import (
	"testing"

	"github.com/flashsale/flashsale/internal/serverbin"
)

// The real server, for the tests that measure it or check its books: built
// from ./cmd/flashsale once per test binary, and run as a process of its
// own, as the benchmarks run it.

// TestMain gives serverbin a folder to build the server into.
func TestMain(m *testing.M) { serverbin.Main(m) }

// startFlashsale starts the real server with args (and --addr, on a free
// loopback port) through StartChildOnFreePort, the tool's own start under
// test, waits until it is healthy and returns its base URL; it is stopped
// when t ends, and a server that does not stop cleanly fails t.
func startFlashsale(t testing.TB, args ...string) (url string) {
	t.Helper()
	c, err := StartChildOnFreePort(t.Context(), "flashsale", serverbin.Path(t), args)
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
