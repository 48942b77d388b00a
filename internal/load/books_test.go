package load

import (
	"net/http"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/generated"
)

// mixTally is what a --mix client saw: 10 units; 12 holds, of which 3 were
// cancelled and 4 confirmed; 20 users joined the line.
func mixTally() *tally {
	t := newTally()
	for i := range 12 {
		t.holds = append(t.holds, hold{user: "u" + string(rune('a'+i)), id: "id" + string(rune('a'+i))})
	}
	for p := range 20 {
		t.positions = append(t.positions, int64(p%18+1))
	}
	t.counts[opReserve][http.StatusCreated] = 12
	t.counts[opReserve][http.StatusAccepted] = 20
	t.counts[opCancel][http.StatusOK] = 3
	t.counts[opConfirm][http.StatusOK] = 4
	t.cancelled, t.confirmed = 3, 4
	return t
}

func TestMixBooks(t *testing.T) {
	// 12 holds - 3 cancels = 9 units out; 2 cancels came before the sell-out
	// (their units went back to stock and to later newcomers), so 1 was
	// promoted from the line: held 6 + confirmed 4 = 10, waiting 19.
	good := generated.Status{Initialized: true, TotalInventory: 10, Available: 0, Held: 6, Confirmed: 4, WaitlistSize: 19}
	if v := checkBooks(mixTally(), true, 10, good); len(v) != 0 {
		t.Fatalf("balanced books rejected: %q", v)
	}
	cases := []struct {
		name string
		edit func(*generated.Status, *tally)
		want string
	}{
		{"a confirm not counted", func(s *generated.Status, _ *tally) { s.Confirmed, s.Held = 3, 7 }, "confirmed 3, want 4"},
		{"a waiting user lost", func(s *generated.Status, _ *tally) { s.WaitlistSize = 18 }, "held 6 + confirmed 4 + waiting 18"},
		{"oversold", func(s *generated.Status, _ *tally) { s.Held, s.WaitlistSize = 7, 18 }, "want total 10"},
		{"more promotions than cancels", func(s *generated.Status, t *tally) {
			t.cancelled = 0
			t.counts[opCancel][http.StatusOK] = 0
			s.WaitlistSize = 22
		}, "implied promotions"},
		{"a second hold for one user", func(_ *generated.Status, t *tally) { t.counts[opRepeat][http.StatusCreated] = 1 }, "two 201s for one user"},
		{"same reservation id twice", func(_ *generated.Status, t *tally) { t.holds[1].id = t.holds[0].id }, "given twice"},
		{"a position past the line", func(_ *generated.Status, t *tally) { t.positions[0] = 21 }, "outside 1..20"},
		{"a cancel refused", func(_ *generated.Status, t *tally) { t.counts[opCancel][http.StatusConflict] = 1 }, "cancel answered 409 1 times"},
		{"new users limited", func(_ *generated.Status, t *tally) { t.counts[opReserve][http.StatusTooManyRequests] = 5 },
			"reserve answered 429 5 times: start the server with --rate-limit 0 --new-shopper-rate 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, ta := good, mixTally()
			tc.edit(&st, ta)
			v := checkBooks(ta, true, 10, st)
			if !strings.Contains(strings.Join(v, "\n"), tc.want) {
				t.Errorf("violations %q do not mention %q", v, tc.want)
			}
		})
	}
}

func TestPlainBooksPositions(t *testing.T) {
	ta := newTally()
	ta.positions = []int64{3, 1, 2}
	ta.counts[opReserve][http.StatusAccepted] = 3
	st := generated.Status{Initialized: true, WaitlistSize: 3}
	if v := checkBooks(ta, false, 0, st); len(v) != 0 {
		t.Fatalf("positions 3,1,2 rejected: %q", v)
	}
	ta.positions = []int64{1, 1, 3}
	if v := checkBooks(ta, false, 0, st); !strings.Contains(strings.Join(v, "\n"), "position 1 given twice") {
		t.Fatalf("duplicate position not caught: %q", v)
	}
}
