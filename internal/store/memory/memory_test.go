package memory_test

import (
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/sale/conformance"
	"github.com/flashsale/flashsale/internal/store/memory"
)

// open makes an empty memory store: the factory both checks take.
func open(t *testing.T, cfg sale.Config) sale.Store {
	s, err := memory.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { conformance.Run(t, open) }

func TestOutbox(t *testing.T) { conformance.RunOutbox(t, open) }

func TestLinearizable(t *testing.T) { conformance.Linearizable(t, open, 100) }

func TestNewRejectsNegativeTTL(t *testing.T) {
	if _, err := memory.New(sale.Config{HoldTTL: -time.Second}); err == nil {
		t.Fatal("New accepted a negative hold TTL")
	}
}
