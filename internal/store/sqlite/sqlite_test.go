package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/sale/conformance"
	"github.com/flashsale/flashsale/internal/store/sqlite"
)

// file gives a test a fresh file, and the factory that opens a store on it:
// each call opens the same file again, as a restarted server does.
func file(t *testing.T) conformance.Factory {
	path := filepath.Join(t.TempDir(), "sale.db")
	return func(t *testing.T, cfg sale.Config) sale.Store {
		t.Helper()
		s, err := sqlite.Open(t.Context(), path, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// open opens a store on a fresh file of t's own.
func open(t *testing.T, cfg sale.Config) sale.Store { return file(t)(t, cfg) }

// The suites run side by side, each on files of its own: much of their time
// is spent waiting for fsync.

func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, open)
}

func TestLinearizable(t *testing.T) {
	t.Parallel()
	conformance.Linearizable(t, open, 100)
}

func TestDurable(t *testing.T) {
	t.Parallel()
	conformance.RunDurable(t, file)
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	conformance.RunOutbox(t, open)
}

func TestOutboxDurable(t *testing.T) {
	t.Parallel()
	conformance.RunOutboxDurable(t, file)
}
