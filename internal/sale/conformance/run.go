// Package conformance is the test suite every sale.Store backend must pass.
// It speaks only through the sale.Store interface, so the in-memory store and
// the SQL stores are held to exactly the same rules:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T, cfg sale.Config) sale.Store {
//			s, err := mystore.Open(t.Context(), dsn, cfg)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Each subtest makes a fresh store with a fake clock (so nothing sleeps) and a
// fixed hold TTL, and closes it when the subtest ends. Times are compared
// exactly, at sale.Precision (microseconds): every backend keeps times to the
// microsecond, so every backend gives back the same ones.
package conformance

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Timeout bounds the whole suite. When it passes, every goroutine's stack is
// written to stderr and the test binary panics: a deadlocked store shows
// where it is stuck instead of hanging until go test's own -timeout. A slow
// backend may raise it before calling Run. Five minutes: on a loaded
// 2-core machine under the race detector, PostgreSQL's suites, run side by
// side with the rest of make test, took over two.
var Timeout = 5 * time.Minute

// Factory makes an empty store for one subtest. Run closes it.
type Factory func(t *testing.T, cfg sale.Config) sale.Store

// Run runs the suite against the stores newStore makes.
func Run(t *testing.T, newStore func(t *testing.T, cfg sale.Config) sale.Store) {
	stop := watchdog(Timeout)
	defer stop()

	f := Factory(newStore)
	for _, group := range []struct {
		name  string
		tests []test
	}{
		{"Lifecycle", lifecycleTests},
		{"Expiry", expiryTests},
		{"Waitlist", waitlistTests},
		{"Inventory", inventoryTests},
		{"Users", userTests},
		{"Events", eventTests},
		{"Concurrency", concurrencyTests},
		{"Keys", keyTests},
		{"SigningKeys", signingKeyTests},
		{"Claims", claimTests},
		{"Window", windowTests},
	} {
		t.Run(group.name, func(t *testing.T) {
			for _, tc := range group.tests {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, f) })
			}
		})
	}
}

type test struct {
	name string
	run  func(t *testing.T, f Factory)
}

// watchdog panics with every goroutine's stack once d has passed, unless the
// returned stop is called first.
func watchdog(d time.Duration) (stop func()) {
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		for {
			n := runtime.Stack(buf, true)
			if n < len(buf) {
				buf = buf[:n]
				break
			}
			buf = make([]byte, 2*len(buf))
		}
		fmt.Fprintf(os.Stderr, "conformance: suite still running after %v, deadlock? all goroutines:\n\n%s\n", d, buf)
		panic(fmt.Sprintf("conformance: suite still running after %v", d))
	})
	return func() { timer.Stop() }
}
