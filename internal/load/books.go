package load

import (
	"fmt"
	"net/http"

	"github.com/flashsale/flashsale/generated"
)

// allowed lists the statuses each op may answer; anything else is a
// violation (a 429 would mean the rate limiter was not lifted, a 500 a bug).
var allowed = [numOps][]int{
	opReserve: {http.StatusCreated, http.StatusAccepted},
	opRepeat:  {http.StatusAccepted, http.StatusConflict},
	opConfirm: {http.StatusOK},
	opCancel:  {http.StatusOK},
}

// checkBooks compares what the clients were told with what the server says
// it holds, and returns every way they disagree.
//
// Without mix, every request was a new user's first: the first `inventory`
// got holds, everyone after joined the line, nobody left it, so the holds are
// exactly min(requests, inventory) and the positions exactly 1..N.
//
// With mix, cancels release units that go to the head of the line (or back
// to stock), and the client does not see those promotions. What it can still
// check: confirmed is the confirms it made; every user it got a hold or a
// place for is, unless it cancelled them, holding, bought or waiting
// (held + confirmed + waiting = holds + joins - cancels); and the implied
// promotions P = held + confirmed - holds + cancels lie between zero and
// min(cancels, joins), with waiting = joins - P.
func checkBooks(t *tally, mix bool, inventory int64, st generated.Status) []string {
	var v []string
	bad := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }

	for o := range numOps {
		for status, n := range t.counts[o] {
			if n == 0 || contains(allowed[o], status) {
				continue
			}
			if op(o) == opRepeat && status == http.StatusCreated {
				bad("two 201s for one user: %d repeat reservations got a second hold", n)
				continue
			}
			if status == http.StatusTooManyRequests {
				// Every user comes from this one address, and reserves a few
				// times at most: only the server's limits can refuse them.
				bad("%s answered %d %d times: start the server with --rate-limit 0 --new-shopper-rate 0, as every user comes from this one address", opNames[o], status, n)
				continue
			}
			bad("%s answered %d %d times", opNames[o], status, n)
		}
	}
	for _, p := range t.problems {
		bad("%s", p)
	}
	if more := t.nproblems - int64(len(t.problems)); more > 0 {
		bad("and %d more answers like the above", more)
	}

	checkStatusBooks(st, inventory, bad)
	if st.Available > 0 && st.WaitlistSize > 0 {
		bad("%d units available while %d users wait", st.Available, st.WaitlistSize)
	}
	checkHolds(t.holds, bad)

	holds, joins := int64(len(t.holds)), int64(len(t.positions))
	if !mix {
		reserves := t.answered(opReserve)
		if want := min(reserves, inventory); holds != want || st.Held != want {
			bad("201s %d, held %d, want both = min(requests %d, inventory %d) = %d", holds, st.Held, reserves, inventory, want)
		}
		if st.Confirmed != 0 {
			bad("confirmed %d, want 0: nobody confirmed", st.Confirmed)
		}
		if st.WaitlistSize != joins {
			bad("202s %d, waitlist size %d, want equal", joins, st.WaitlistSize)
		}
		checkPositions(t.positions, bad)
		return v
	}

	if st.Confirmed != t.confirmed {
		bad("confirmed %d, want %d: the confirms that succeeded", st.Confirmed, t.confirmed)
	}
	if got, want := st.Held+st.Confirmed+st.WaitlistSize, holds+joins-t.cancelled; got != want {
		bad("held %d + confirmed %d + waiting %d = %d, want 201s %d + 202s %d - cancels %d = %d",
			st.Held, st.Confirmed, st.WaitlistSize, got, holds, joins, t.cancelled, want)
	}
	promoted := st.Held + st.Confirmed - holds + t.cancelled
	if promoted < 0 || promoted > min(t.cancelled, joins) {
		bad("implied promotions %d (held %d + confirmed %d - 201s %d + cancels %d) outside 0..min(cancels %d, 202s %d)",
			promoted, st.Held, st.Confirmed, holds, t.cancelled, t.cancelled, joins)
	}
	for _, p := range t.positions {
		if p < 1 || p > joins {
			bad("waitlist position %d outside 1..%d", p, joins)
			break
		}
	}
	return v
}

// checkHolds: no user got two holds, no two holds share an id.
func checkHolds(holds []hold, bad func(string, ...any)) {
	users := make(map[string]struct{}, len(holds))
	ids := make(map[string]struct{}, len(holds))
	for _, h := range holds {
		if _, dup := users[h.user]; dup {
			bad("two 201s for user %s", h.user)
		}
		if _, dup := ids[h.id]; dup {
			bad("reservation id %s given twice", h.id)
		}
		users[h.user], ids[h.id] = struct{}{}, struct{}{}
	}
}

// checkPositions: the N places handed out are 1..N, each once.
func checkPositions(positions []int64, bad func(string, ...any)) {
	n := int64(len(positions))
	seen := make([]bool, n+1)
	reported := 0
	for _, p := range positions {
		switch {
		case p < 1 || p > n:
			bad("waitlist position %d outside 1..%d", p, n)
		case seen[p]:
			bad("waitlist position %d given twice", p)
		default:
			seen[p] = true
			continue
		}
		if reported++; reported == maxProblems {
			return
		}
	}
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// checkStatusBooks checks what every sale's GET /status must show after a
// run, whoever drove it: initialized with the run's inventory, no negative
// count, and available + held + confirmed = total.
func checkStatusBooks(st generated.Status, inventory int64, bad func(format string, args ...any)) {
	if !st.Initialized || st.TotalInventory != inventory {
		bad("status: initialized=%v total_inventory=%d, want true and %d", st.Initialized, st.TotalInventory, inventory)
	}
	if st.Available < 0 || st.Held < 0 || st.Confirmed < 0 || st.WaitlistSize < 0 {
		bad("status has a negative count: %+v", st)
	}
	if st.Available+st.Held+st.Confirmed != st.TotalInventory {
		bad("available %d + held %d + confirmed %d = %d, want total %d",
			st.Available, st.Held, st.Confirmed, st.Available+st.Held+st.Confirmed, st.TotalInventory)
	}
}
