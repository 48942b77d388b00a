package conformance

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// claimTests: a reserve by a caller who proves nobody (sale.Call.Claim) is
// made only for a user new to the sale, and a confirm or cancel made for a
// user finds only that user's reservation. The HTTP layer's authorization
// rests on both, so every store decides them, atomically with the change.
var claimTests = []test{
	{"ClaimIsForNewUsersOnly", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		if a, err := h.do(claimCall("alice"), ""); err != nil || a.Reserve.Reservation == nil {
			t.Fatalf("alice's claim: %+v, %v", a, err)
		}
		if a, err := h.do(claimCall("bob"), ""); err != nil || a.Reserve.Position != 1 {
			t.Fatalf("bob's claim: %+v, %v", a, err)
		}
		before := h.snapshot([]string{"alice", "bob"}, nil)
		for _, user := range []string{"alice", "bob"} {
			_, err := h.do(claimCall(user), "")
			h.wantErr("a second claim of "+user, err, sale.ErrTokenRequired)
		}
		if after := h.snapshot([]string{"alice", "bob"}, nil); !reflect.DeepEqual(before, after) {
			t.Fatalf("refused claims changed the sale:\nbefore %+v\nafter  %+v", before, after)
		}
		// Known for good: after bob leaves, his name is still his.
		h.leave("bob")
		_, err := h.do(claimCall("bob"), "")
		h.wantErr("a claim of a user who left", err, sale.ErrTokenRequired)
	}},

	{"OneOfManyClaimsOfANameWins", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		const n = 16
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = h.do(claimCall("carol"), "") })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			default:
				h.wantErr("a losing claim", err, sale.ErrTokenRequired)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d simultaneous claims of one name were made, want exactly 1", won, n)
		}
		h.wantStatus(1, 0, 1, 0, 0)
	}},

	{"AReplayedClaimIsTheFirstAnswerAndItsTime", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(1, false)
		first, err := h.do(claimCall("dave"), "k")
		if err != nil || first.At.IsZero() {
			t.Fatalf("dave's keyed claim: %+v, %v; want an answer with its time", first, err)
		}
		h.advance(time.Minute)
		again, err := h.do(claimCall("dave"), "k")
		if err != nil || !again.Replayed || !again.At.Equal(first.At) || !reflect.DeepEqual(again.Reserve, first.Reserve) {
			t.Fatalf("the retry: %+v, %v; want the first answer, made at %v, replayed", again, err, first.At)
		}
		// Another key is another attempt: dave is known now.
		_, err = h.do(claimCall("dave"), "k2")
		h.wantErr("a claim with another key", err, sale.ErrTokenRequired)
	}},

	{"AReservationIsFoundOnlyForItsUser", func(t *testing.T, f Factory) {
		h := start(t, f)
		h.init(2, false)
		alice := h.hold("alice")
		h.hold("mallory")
		before := h.snapshot([]string{"alice", "mallory"}, []string{alice.ID})
		for _, op := range []sale.Op{sale.OpConfirm, sale.OpCancel} {
			_, err := h.do(sale.Call{Op: op, ReservationID: alice.ID, UserID: "mallory"}, "")
			h.wantErr(string(op)+" of alice's hold for mallory", err, sale.ErrReservationNotFound)
			// With alice's own key too: mallory's scope is her own.
			_, err = h.do(sale.Call{Op: op, ReservationID: alice.ID, UserID: "mallory"}, "alice-"+string(op))
			h.wantErr(string(op)+" of alice's hold for mallory, keyed", err, sale.ErrReservationNotFound)
		}
		if after := h.snapshot([]string{"alice", "mallory"}, []string{alice.ID}); !reflect.DeepEqual(before, after) {
			t.Fatalf("mallory's attempts changed the sale:\nbefore %+v\nafter  %+v", before, after)
		}
		a, err := h.do(sale.Call{Op: sale.OpConfirm, ReservationID: alice.ID, UserID: "alice"}, "alice-confirm")
		if err != nil || a.Reservation.Status != sale.Confirmed || a.Replayed {
			t.Fatalf("alice confirms her own hold: %+v, %v", a, err)
		}
	}},
}

func claimCall(user string) sale.Call {
	return sale.Call{Op: sale.OpReserve, UserID: user, Claim: true}
}

// claimReplayedAfterARestart: a claim's kept answer, its time included (the
// shopper's token is made from it), is the same after a restart, and the
// claim is kept as a claim: the same call again replays, a proven reserve
// with that key is another call.
func claimReplayedAfterARestart(t *testing.T, f Factory) {
	h := start(t, f)
	h.init(1, false)
	first, err := h.do(claimCall("erin"), "k")
	if err != nil {
		t.Fatal(err)
	}
	h.advance(time.Second)
	h.reopen(f, ttl)
	again, err := h.do(claimCall("erin"), "k")
	if err != nil || !again.Replayed || !again.At.Equal(first.At) || !reflect.DeepEqual(again.Reserve, first.Reserve) {
		t.Fatalf("after a restart: %+v, %v; want the first answer %+v, made at %v, replayed", again, err, first, first.At)
	}
	_, err = h.do(reserveCall("erin"), "k")
	h.wantErr("a proven reserve with the claim's key", err, sale.ErrKeyMismatch)
}
