package live_test

import (
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
)

// eventually waits for the hub to have followed the feed far enough for
// EstimatedWait(position) to be want.
func (f *fixture) eventually(position int64, want live.Estimate) {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := f.hub.EstimatedWait(position)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("EstimatedWait(%d) = %+v, want %+v", position, got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func known(secs int64) live.Estimate { return live.Estimate{Seconds: secs, Known: true} }

// The estimate is the position over the rate of units reaching the line in
// the last WaitWindow (no less than 30 s of it, so that the first unit
// does not read as a wild rate).
func TestEstimatedWaitFollowsTheRate(t *testing.T) {
	f := newFixture(t, live.Config{})
	holds := f.sale(3, "h1", "h2", "h3", "w1", "w2", "w3", "w4")
	f.eventually(1, live.Estimate{}) // nothing released yet: no rate

	f.cancel(holds["h1"]) // one unit in the first 30 s: 1/30 a second
	f.eventually(1, known(30))
	f.eventually(3, known(90))

	f.clock.Advance(60 * time.Second)
	f.cancel(holds["h2"]) // two in 60 s: still 1/30
	f.eventually(2, known(60))

	f.clock.Advance(30 * time.Second)
	if _, err := sale.Initialize(f.ctx, f.store, 5, false); err != nil { // two units added
		t.Fatal(err)
	}
	f.eventually(1, known(23)) // four in 90 s: 1/22.5, rounded up

	// Expiry counts too: the holds of h3 and w1, made at the start,
	// expire at 5 min, once the other units have left the window.
	f.clock.Advance(holdTTL - 90*time.Second)
	f.eventually(1, live.Estimate{}) // the window holds no unit
	if _, err := f.store.Expire(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.eventually(1, known(90)) // two in the whole window: 1/90
}

func TestEstimatedWaitStartsOverWithANewSale(t *testing.T) {
	f := newFixture(t, live.Config{})
	holds := f.sale(1, "h1", "w1")
	f.cancel(holds["h1"])
	f.eventually(1, known(30))
	f.sale(1, "h2", "w2") // reset
	f.eventually(1, live.Estimate{})
	// The first stock of a sale is not a rate: it goes to whoever comes.
	// Once the hub has woken w3's stream for a join committed after that
	// stock, it has counted the stock if it ever will.
	w3 := f.watch("w3")
	w3.expect("state")
	if _, err := sale.Reserve(f.ctx, f.store, "w3"); err != nil {
		t.Fatal(err)
	}
	w3.expect("joined")
	if got := f.hub.EstimatedWait(1); got.Known {
		t.Fatalf("EstimatedWait(1) = %+v after a sale's first stock, want no estimate", got)
	}
}
