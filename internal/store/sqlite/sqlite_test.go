package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/sale/conformance"
	"github.com/flashsale/flashsale/internal/store/sqlite"
)

// open opens a sale in a fresh file of t's own.
func open(t *testing.T, cfg sale.Config) sale.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "sale.db"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	conformance.Run(t, open)
}

func TestLinearizable(t *testing.T) { conformance.Linearizable(t, open, 100) }
