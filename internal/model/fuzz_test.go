package model_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/model"
)

// decode turns fuzz bytes into calls, two bytes each: what to do, and an
// argument. Four users and inventories up to three keep the sale crowded;
// clock moves in half seconds land exactly on the three-second expiries,
// and on the openings and closes, also set in half seconds from now. ids
// says which reservation ids the calls so far have seen. A clock move
// comes back as OpClock with the distance to move.
func decode(op, arg byte, ids []string, now time.Time) (model.Input, time.Duration) {
	user := fmt.Sprintf("u%d", arg%4)
	id := "AAAAAAAAAAAAAAAAAAAAAA" // well formed, never issued
	if len(ids) > 0 && arg != 0xff {
		id = ids[int(arg)%len(ids)]
	}
	halves := func(n byte) time.Time { return now.Add(time.Duration(n) * 500 * time.Millisecond) }
	switch op % 13 {
	case 0:
		return model.Input{Kind: model.OpInitialize, Total: int64(arg % 4), Reset: arg&0x80 != 0}, 0
	case 1:
		return model.Input{Kind: model.OpReserve, User: user}, 0
	case 2:
		return model.Input{Kind: model.OpConfirm, ID: id}, 0
	case 3:
		return model.Input{Kind: model.OpCancel, ID: id}, 0
	case 4:
		return model.Input{Kind: model.OpReservation, ID: id}, 0
	case 5:
		return model.Input{Kind: model.OpUser, User: user}, 0
	case 6:
		return model.Input{Kind: model.OpLeave, User: user}, 0
	case 7:
		return model.Input{Kind: model.OpStatus}, 0
	case 8:
		return model.Input{Kind: model.OpExpire}, 0
	case 10:
		// An opening 0 to 3.5 s from now (0: now, which opens a new sale
		// at once and draws a scheduled one now), with or without reset.
		return model.Input{Kind: model.OpInitialize, Total: int64(arg % 4), Reset: arg&0x80 != 0, OpensAt: halves(arg >> 2 & 7)}, 0
	case 11:
		// A close 0 to 3.5 s from now (0: refused), for the sale as it
		// is, and an opening 0 to 1.5 s from now or none.
		in := model.Input{Kind: model.OpInitialize, Total: int64(arg % 4), ClosesAt: halves(arg >> 2 & 7)}
		if o := arg >> 5 & 3; o != 0 {
			in.OpensAt = halves(o - 1)
		}
		return in, 0
	case 12:
		return model.Input{Kind: model.OpEntrants}, 0
	default:
		return model.Input{Kind: model.OpClock}, time.Duration(arg%8) * 500 * time.Millisecond
	}
}

// FuzzStoreAgainstModel runs one sequence of calls on the in-memory store and
// on the model, and fails at the first answer on which they differ.
func FuzzStoreAgainstModel(f *testing.F) {
	for _, seq := range [][]byte{
		// init 1; alice holds; bob waits; 3s pass; bob is promoted; confirm bob's.
		{0, 1, 1, 0, 1, 1, 9, 6, 5, 1, 2, 1},
		// init 2; two hold, two wait; cancel promotes the head; leave; status.
		{0, 2, 1, 0, 1, 1, 1, 2, 1, 3, 3, 0, 5, 3, 6, 3, 7, 0},
		// raise the inventory to promote, lower it below taken, reset.
		{0, 1, 1, 0, 1, 1, 1, 2, 0, 3, 0, 0, 0, 0x81, 7, 0},
		// a guessed id, then expiry exactly at expires_at and an Expire call.
		{0, 1, 1, 0, 1, 1, 9, 6, 2, 0xff, 9, 2, 8, 0, 5, 1},
		// init 1 opening in 1.5 s; three queue, one leaves; the draw: one
		// holds from the opening, one waits; the holder's time runs out.
		{10, 3<<2 | 1, 1, 0, 1, 1, 1, 2, 5, 0, 6, 2, 12, 0, 7, 0, 9, 4, 5, 0, 5, 1, 12, 0, 7, 0, 9, 6, 5, 1, 7, 0},
		// a close in 2 s: a hold and a line; the close empties the line and
		// refuses reserves; the hold is confirmed after it.
		{0, 1, 1, 0, 1, 1, 11, 4<<2 | 1, 9, 4, 1, 2, 7, 0, 2, 0, 5, 1, 7, 0},
	} {
		f.Add(seq)
	}
	f.Fuzz(func(t *testing.T, seq []byte) {
		if len(seq) > 400 {
			seq = seq[:400] // long sequences find no more, they only run slower
		}
		clock := clocktest.New(start)
		s := newMemStore(t, clock)
		checker := model.Checker(start, ttl)
		state := checker.Init().(*model.State)
		var ids []string
		var trace strings.Builder
		for i := 0; i+1 < len(seq); i += 2 {
			in, d := decode(seq[i], seq[i+1], ids, clock.Now())
			var out model.Output
			if in.Kind == model.OpClock {
				in.Now = clock.Advance(d)
			} else {
				out = model.Apply(context.Background(), s, in)
			}
			fmt.Fprintf(&trace, "  %s\n", checker.DescribeOperation(in, out))
			ok, next := model.Step(state, in, out)
			if !ok {
				t.Fatalf("the store's answer to call %d differs from the model's; calls:\n%smodel state before the last: %s",
					i/2+1, trace.String(), checker.DescribeState(state))
			}
			state = next
			if out.Reservation != nil && out.Reservation.ID != "" {
				ids = append(ids, out.Reservation.ID)
			}
			if in.Kind == model.OpStatus && !out.Status.Balanced() {
				t.Fatalf("unbalanced status after:\n%s", trace.String())
			}
		}
	})
}
