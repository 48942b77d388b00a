package model_test

import (
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/memory"
)

func newMemStore(t testing.TB, clock sale.Clock) sale.Store {
	s, err := memory.New(sale.Config{HoldTTL: ttl, Clock: clock})
	if err != nil {
		t.Fatalf("new store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStoreLinearizable records concurrent histories of the in-memory store,
// with expiries falling in the middle of them, and has porcupine check that
// each has a sequential order, consistent with real time, that the model
// accepts answer for answer.
func TestStoreLinearizable(t *testing.T) {
	t.Parallel()
	checkLinearizable(t, newMemStore, 100)
}
