package model_test

import (
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/model"
	"github.com/flashsale/flashsale/internal/sale"
)

// TestStoreDrawsThenExpiresThenCloses: one call finds the opening, an
// expiry and the close all passed. The draw is made as of the opening, the
// expiry as of its own time (promoting the next drawn while the sale was
// open), and only then the close. Besides the model's verdict, the answers
// are checked here by hand, so that the model is held to the rules too.
func TestStoreDrawsThenExpiresThenCloses(t *testing.T) {
	clock := clocktest.New(start)
	s := &script{t: t, store: newMemStore(t, clock)}
	opens, closes := start.Add(time.Second/2), start.Add(4*time.Second)
	s.call(model.Input{Kind: model.OpInitialize, Total: 1, OpensAt: opens, ClosesAt: closes})
	order := sale.DrawOrder(model.Seed[:], []string{"alice", "bob", "carol"})
	for _, u := range []string{"alice", "bob", "carol"} {
		if out := s.call(model.Input{Kind: model.OpReserve, User: u}); !out.Queued || !out.OpensAt.Equal(opens) ||
			out.DrawCommitment != sale.Commitment(model.Seed[:]) {
			t.Fatalf("reserve %s before the opening: %+v", u, out)
		}
	}
	s.seq++
	s.clock(clock.Advance(4*time.Second), s.seq, s.seq)

	first := s.call(model.Input{Kind: model.OpUser, User: order[0]})
	if r := first.Reservation; first.State != sale.None || r == nil || r.Status != sale.Expired || !r.CreatedAt.Equal(opens) {
		t.Errorf("the first drawn, %s, after the close: %+v, want none with a hold made at the opening, expired", order[0], first)
	}
	second := s.call(model.Input{Kind: model.OpUser, User: order[1]})
	if r := second.Reservation; second.State != sale.Holding || r == nil || !r.CreatedAt.Equal(opens.Add(ttl)) {
		t.Errorf("the second drawn, %s, after the close: %+v, want a hold made when the first one's expired", order[1], second)
	}
	if third := s.call(model.Input{Kind: model.OpUser, User: order[2]}); third.State != sale.None || third.Phase != sale.PhaseClosed {
		t.Errorf("the third drawn, %s, after the close: %+v, want none: the line is gone", order[2], third)
	}
	if out := s.call(model.Input{Kind: model.OpReserve, User: "dave"}); out.Err != sale.ErrSaleClosed.Kind() {
		t.Errorf("reserve after the close: %+v, want sale-closed", out)
	}
	if out := s.call(model.Input{Kind: model.OpConfirm, ID: second.Reservation.ID}); out.Err != "" {
		t.Errorf("confirm after the close of a hold given before it: %+v", out)
	}
	st := s.call(model.Input{Kind: model.OpStatus}).Status
	if st.DrawSeed == "" || st.Phase != sale.PhaseClosed || st.Confirmed != 1 || st.Available != 0 {
		t.Errorf("status: %+v", st)
	}
	s.check()
}
