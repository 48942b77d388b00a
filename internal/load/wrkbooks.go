package load

import (
	"fmt"

	"github.com/flashsale/flashsale/generated"
)

// checkWrkBooks compares what wrk was told with what the server holds after
// a run of new users only, and returns every way they disagree.
//
// wrk cannot check the books the way Books does (it keeps no ids and no
// positions), and it stops with up to one request per connection in flight:
// the server may have answered those, wrk did not count them. So the users
// the server knows (held + waiting) must lie between the 201s and 202s wrk
// counted and that plus the connections.
func checkWrkBooks(f WrkFigures, st generated.Status, inventory int64, conns int) []string {
	var v []string
	bad := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }

	checkStatusBooks(st, inventory, bad)
	if st.Held+st.Confirmed > st.TotalInventory {
		bad("held %d + confirmed %d is more than the %d units", st.Held, st.Confirmed, st.TotalInventory)
	}
	if st.Confirmed != 0 {
		bad("confirmed %d, want 0: nobody confirmed", st.Confirmed)
	}
	if st.Available > 0 && st.WaitlistSize > 0 {
		bad("%d units available while %d users wait", st.Available, st.WaitlistSize)
	}
	if f.Created > inventory {
		bad("%d 201s for %d units", f.Created, inventory)
	}
	if f.Created > st.Held {
		bad("%d 201s, but only %d held", f.Created, st.Held)
	}
	answered := f.Created + f.Waitlisted
	known := st.Held + st.Confirmed + st.WaitlistSize
	if known < answered || known > answered+int64(conns) {
		bad("held %d + waiting %d = %d users, want between the %d 201s and 202s wrk counted and that plus its %d connections",
			st.Held, st.WaitlistSize, known, answered, conns)
	}
	if answered > inventory && (st.Available != 0 || st.WaitlistSize == 0) {
		bad("after %d answers for %d units: available %d, waiting %d, want sold out and a line", answered, inventory, st.Available, st.WaitlistSize)
	}
	return v
}
