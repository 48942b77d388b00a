package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// wholeNumbers rewrites each number that the schema types as integer into
// plain digits, before the schema check, or says why it cannot.
//
// JSON Schema calls any number with a zero fractional part an integer, so
// the document accepts `1e3` and `3.0` for total_inventory, and they are
// served as 1000 and 3; encoding/json would refuse to bind them to an
// int64, with its own words. kin-openapi checks "integer" on the number's
// float64, which rounds: `5.0000000000000000001` would pass as 5. Here the
// decimal is read exactly, so what is not a whole number is refused, in the
// API's words, naming the property (a JSON pointer, as kin-openapi does).
func wholeNumbers(s *openapi3.Schema, v any) (any, error) {
	w, err := wholeNumbersAt(s, v)
	if err != nil {
		return nil, fmt.Errorf("Error at %q: %.40s %w", err.path, err.number, err.reason)
	}
	return w, nil
}

// numberError is a number wholeNumbersAt refused, and where: the path is
// built on the way out, so that the common case, no error, builds none.
type numberError struct {
	path   string
	number json.Number
	reason error
}

func wholeNumbersAt(s *openapi3.Schema, v any) (any, *numberError) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := s.Properties[k]
			if p == nil || p.Value == nil {
				continue
			}
			w, err := wholeNumbersAt(p.Value, x)
			if err != nil {
				err.path = "/" + k + err.path
				return nil, err
			}
			v[k] = w
		}
	case []any:
		if s.Items == nil || s.Items.Value == nil {
			return v, nil
		}
		for i, x := range v {
			w, err := wholeNumbersAt(s.Items.Value, x)
			if err != nil {
				err.path = "/" + strconv.Itoa(i) + err.path
				return nil, err
			}
			v[i] = w
		}
	case json.Number:
		if s.Type.Is(openapi3.TypeInteger) {
			digits, err := wholeDigits(string(v))
			if err != nil {
				return nil, &numberError{number: v, reason: err}
			}
			return json.Number(digits), nil
		}
	}
	return v, nil
}

// maxWholeDigits bounds the digits wholeDigits writes out: more than an
// int64 holds, so that a value the schema let through is never cut short,
// and few enough that `1e999999` cannot make a megabyte of zeros.
const maxWholeDigits = 24

var (
	errNotWhole = errors.New("is not a whole number")
	errTooLarge = fmt.Errorf("is too large (more than %d digits)", maxWholeDigits)
)

// wholeDigits writes the JSON number n as an optional minus and decimal
// digits, when its exact value is a whole number of at most maxWholeDigits
// digits. n is valid JSON number syntax (the decoder read it):
// -?int(.frac)?([eE][+-]?exp)?.
func wholeDigits(n string) (string, error) {
	if !strings.ContainsAny(n, ".eE") {
		return n, nil // plain digits: the common case, untouched
	}
	neg := strings.HasPrefix(n, "-")
	mant, e, hasExp := strings.Cut(strings.TrimPrefix(n, "-"), "e")
	if !hasExp {
		mant, e, hasExp = strings.Cut(mant, "E")
	}
	// The value is digits × 10^exp, digits being the mantissa without its
	// point and without zeros at either end.
	whole, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return "0", nil // zero, however written
	}
	trimmed := strings.TrimRight(digits, "0")
	shift := int64(len(digits)-len(trimmed)) - int64(len(frac))
	digits = trimmed
	var exp int64
	if hasExp {
		var err error
		exp, err = strconv.ParseInt(strings.TrimPrefix(e, "+"), 10, 64)
		// Beyond int64 (or near it), the exponent dwarfs any mantissa
		// a body can hold: the value is a fraction, or far too large.
		const far = 1 << 60
		switch {
		case err == nil && exp > -far && exp < far:
		case strings.HasPrefix(e, "-"):
			return "", errNotWhole
		default:
			return "", errTooLarge
		}
	}
	exp += shift
	switch {
	case exp < 0:
		return "", errNotWhole
	case int64(len(digits))+exp > maxWholeDigits:
		return "", errTooLarge
	}
	digits += strings.Repeat("0", int(exp))
	if neg {
		digits = "-" + digits
	}
	return digits, nil
}
