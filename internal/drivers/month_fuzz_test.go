package drivers_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/drivers"
)

// wantMonth is the --month rule written out by hand, as the oracle: exactly
// four digits, a dash, two digits; year 0001..9998; month 01..12.
func wantMonth(s string) (year, month int, ok bool) {
	if len(s) != 7 || s[4] != '-' {
		return 0, 0, false
	}
	for i, c := range []byte(s) {
		if i != 4 && (c < '0' || c > '9') {
			return 0, 0, false
		}
	}
	year, _ = strconv.Atoi(s[:4])
	month, _ = strconv.Atoi(s[5:])
	return year, month, 1 <= year && year <= 9998 && 1 <= month && month <= 12
}

// FuzzParseMonth checks that ParseMonth never panics, accepts exactly what
// the oracle accepts, and that what it accepts round-trips and spans
// exactly one calendar month.
func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2024-09", "2024-12", "0001-01", "9998-12", "9999-12", "0000-01", "2024-13", "2024-00",
		"2024-9", "24-09", "+2024-09", "2024-09 ", " 2024-09", "2024-09-01", "２０２４-09", "2024-0\x00", "-202-09"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := drivers.ParseMonth(s)
		year, month, ok := wantMonth(s)
		if (err == nil) != ok {
			t.Fatalf("ParseMonth(%q): err = %v, want accepted = %v", s, err, ok)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "month") {
				t.Fatalf("ParseMonth(%q): error %q does not say it is about the month", s, err)
			}
			return
		}
		if m.String() != s {
			t.Fatalf("ParseMonth(%q).String() = %q, want it back unchanged", s, m.String())
		}
		if again, err := drivers.ParseMonth(m.String()); err != nil || again != m {
			t.Fatalf("ParseMonth(%q) does not round-trip: %v, %v", s, again, err)
		}
		startAt := time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC)
		if !m.Start().Equal(startAt) || !m.End().Equal(startAt.AddDate(0, 1, 0)) {
			t.Fatalf("ParseMonth(%q) spans [%v, %v), want [%v, %v)", s, m.Start(), m.End(), startAt, startAt.AddDate(0, 1, 0))
		}
	})
}
