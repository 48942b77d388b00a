package drivers

import "fmt"

// Rate is a percentage with two decimals, held as hundredths of a percent so
// that it compares and prints exactly: 9000 is 90.00%. It is only ever an
// output; whether a driver qualifies is decided on integer counts.
type Rate int64

func (r Rate) String() string { return fmt.Sprintf("%d.%02d", r/100, r%100) }

// MarshalJSON writes the rate as a JSON number with both decimals, 90.00.
func (r Rate) MarshalJSON() ([]byte, error) { return []byte(r.String()), nil }
