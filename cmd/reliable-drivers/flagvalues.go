package main

import (
	"fmt"
	"strconv"
)

// rowsValue is the flag.Value of --generate: the flag package's own Int
// would say only "parse error" of "abc", and take -1. The flag package keeps
// only the text of a refusal, inside its own words ("invalid value ... for
// flag -generate: ..."), so the refusal also stays here for run to report
// as it is, in the form flashsale's refusals take.
type rowsValue struct {
	n       int
	refused error
}

func (v *rowsValue) String() string { return strconv.Itoa(v.n) }

func (v *rowsValue) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, strconv.IntSize) // as flag.Int: 200_000 and 0x10 too
	if err != nil || n < 0 {
		v.refused = fmt.Errorf("%q: want a number of rows, 0 or more", s)
		return v.refused
	}
	v.n = int(n)
	return nil
}

// seedValue is the flag.Value of --seed, for the same reasons.
type seedValue struct {
	n       uint64
	refused error
}

func (v *seedValue) String() string { return strconv.FormatUint(v.n, 10) }

func (v *seedValue) Set(s string) error {
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		v.refused = fmt.Errorf("%q: want a whole number from 0 to 18446744073709551615", s)
		return v.refused
	}
	v.n = n
	return nil
}
