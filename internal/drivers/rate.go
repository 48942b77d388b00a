package drivers

import (
	"fmt"
	"math"
	"strconv"
)

// Rate is a percentage with two decimals, held as hundredths of a percent so
// that it compares and prints exactly: 9000 is 90.00%. It is only ever an
// output; whether a driver qualifies is decided on integer counts.
type Rate int64

func (r Rate) String() string { return fmt.Sprintf("%d.%02d", r/100, r%100) }

// MarshalJSON writes the rate as a JSON number with both decimals, 90.00.
func (r Rate) MarshalJSON() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalJSON reads a number such as 90.00 back into a Rate.
func (r *Rate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("success rate %s: %w", b, err)
	}
	*r = Rate(math.Round(f * 100))
	return nil
}
