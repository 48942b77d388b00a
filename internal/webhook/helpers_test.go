package webhook_test

import (
	"fmt"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// newKeys returns a fresh secret and its keys.
func newKeys(t testing.TB) (string, [][]byte) { return testkit.WebhookSecret(t) }

// crowd plays a sale of shoppers over the stack's servers in turn, straight
// on their stores: units for sale, every shopper reserves, a tenth of the
// holds are cancelled (their units go to the line), a tenth confirmed, and
// a tenth of the line leaves.
func crowd(t testing.TB, s *testkit.Stack, units, shoppers int) {
	t.Helper()
	ctx := t.Context()
	if _, err := sale.Initialize(ctx, s.Server().Store, int64(units), false); err != nil {
		t.Fatal(err)
	}
	var holds []string
	var waiting []string
	for i := range shoppers {
		user := fmt.Sprintf("shopper-%04d", i)
		r, err := sale.Reserve(ctx, s.Next(i).Store, user)
		if err != nil {
			t.Fatalf("reserve %s: %v", user, err)
		}
		if r.Reservation != nil {
			holds = append(holds, r.Reservation.ID)
		} else {
			waiting = append(waiting, user)
		}
	}
	for i, id := range holds {
		st := s.Next(i).Store
		var err error
		switch i % 10 {
		case 0:
			_, err = sale.Cancel(ctx, st, id)
		case 1:
			_, err = sale.Confirm(ctx, st, id)
		}
		if err != nil {
			t.Fatalf("hold %s: %v", id, err)
		}
	}
	for i, user := range waiting {
		if i%10 == 0 {
			// A promoted shopper no longer waits: leaving is refused then.
			if err := s.Next(i).Store.Leave(ctx, user); err != nil && !isNotWaiting(err) {
				t.Fatalf("leave %s: %v", user, err)
			}
		}
	}
}

func isNotWaiting(err error) bool { return sale.KindOf(err) == sale.KindOf(sale.ErrNotWaiting) }

// sent returns the Seqs of the events after the first `after` that are
// sent to the shop, in feed order.
func sent(t testing.TB, st sale.Store, after uint64) []uint64 {
	t.Helper()
	var out []uint64
	for _, seq := range testkit.SentEvents(t, st) {
		if seq > after {
			out = append(out, seq)
		}
	}
	return out
}
