package drivers

import (
	"fmt"
	"time"
)

// TimestampLayout is the one form attempt_timestamp takes in SQLite, and the
// form in which month bounds are passed to both databases. Text in this form
// sorts in time order, which is what lets SQLite compare timestamps as text.
const TimestampLayout = "2006-01-02 15:04:05"

// Month is a calendar month in UTC.
type Month struct {
	first time.Time // midnight UTC on the first day
}

// ParseMonth accepts exactly YYYY-MM, such as 2024-09.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Month{}, fmt.Errorf("month %q: want YYYY-MM, such as 2024-09", s)
	}
	// Both ends of the range must have four-digit years: SQLite names a
	// month by the first seven characters of its timestamps, YYYY-MM, and
	// text comparison of a range would put 10000-01-01 before 9999-12-01.
	if t.Year() < 1 || t.Year() > 9998 {
		return Month{}, fmt.Errorf("month %q: year must be between 0001 and 9998", s)
	}
	return Month{first: t}, nil
}

// MustParseMonth is ParseMonth for constants; it panics on bad input.
func MustParseMonth(s string) Month {
	m, err := ParseMonth(s)
	if err != nil {
		panic(err)
	}
	return m
}

func (m Month) String() string { return m.first.Format("2006-01") }

// Start is the first instant of the month, End the first instant after it:
// the month is the half-open range [Start, End).
func (m Month) Start() time.Time { return m.first }
func (m Month) End() time.Time   { return m.first.AddDate(0, 1, 0) }

// Add returns the month n months later (earlier if n < 0).
func (m Month) Add(n int) Month { return Month{first: m.first.AddDate(0, n, 0)} }

// bounds formats [Start, End) as query parameters.
func (m Month) bounds() (start, end string) {
	return m.Start().Format(TimestampLayout), m.End().Format(TimestampLayout)
}
