package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Bounds on what a body may hold. The document's bodies are flat objects
// of two or three values; the bounds stop a hostile body (a million `[`,
// half a million array elements within MaxBody) after a few microseconds'
// work instead of building it all only for the schema to refuse it.
const (
	maxDepth  = 32   // arrays and objects within one another
	maxTokens = 1000 // keys, values and brackets
)

// decodeJSON decodes a request body into the values encoding/json gives
// for `any` (map[string]any, []any, string, bool, nil), with numbers as
// json.Number so that integers stay exact for the schema check. It refuses
// what a client cannot have meant one way only:
//
//   - a key twice in one object: `{"user_id":"a","user_id":"b"}` reads as b
//     in encoding/json and as a in a gateway that takes the first, so the two
//     would disagree about who the user is;
//   - anything after the value: `{"user_id":"a"} {"user_id":"b"}`;
//   - a number beyond float64's range, which the schema check would report
//     in strconv's words.
//
// checkShape finds the first and the bounds' breaches in one pass over the
// bytes without allocating; encoding/json then decodes as before.
func decodeJSON(data []byte) (any, error) {
	if err := checkShape(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// checkShape scans a JSON text for repeated keys, nesting deeper than
// maxDepth, more than maxTokens tokens and numbers out of float64's range.
// Syntax is encoding/json's to judge: on text that is not JSON it stops or
// goes on without harm, in time linear in the text.
//
// The keys of the objects open at the current point are kept, stacked, as
// slices of data (a key with an escape is unescaped first, so `"a"` and
// `"\u0061"` are the same key); a new key is compared with those of its own
// object. maxTokens bounds that to a million comparisons of short slices.
func checkShape(data []byte) error {
	var (
		keyBuf   [8][]byte
		keys     = keyBuf[:0] // the keys of open objects, innermost last
		startBuf [8]int
		starts   = startBuf[:0] // per open container: where its keys begin in keys; -1 for an array
		tokens   int
	)
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case ' ', '\t', '\r', '\n', ',', ':':
			continue
		case '{', '[':
			if len(starts) == maxDepth {
				return fmt.Errorf("arrays and objects nested deeper than %d", maxDepth)
			}
			start := -1
			if c == '{' {
				start = len(keys)
			}
			starts = append(starts, start)
		case '}', ']':
			if len(starts) == 0 {
				return nil // not JSON: encoding/json says why
			}
			if s := starts[len(starts)-1]; s >= 0 {
				keys = keys[:s]
			}
			starts = starts[:len(starts)-1]
		case '"':
			end := stringEnd(data, i)
			if len(starts) > 0 && starts[len(starts)-1] >= 0 && followedByColon(data, end+1) {
				key, ok := keyOf(data[i : end+1])
				if !ok {
					return nil // a bad escape: encoding/json says so
				}
				for _, k := range keys[starts[len(starts)-1]:] {
					if bytes.Equal(k, key) {
						return fmt.Errorf("the key %.64q appears twice in one object", key)
					}
				}
				keys = append(keys, key)
			}
			i = end
		default: // a number, true, false or null
			end := i
			for end < len(data) && !endsLiteral(data[end]) {
				end++
			}
			if err := inFloatRange(data[i:end]); err != nil {
				return err
			}
			i = end - 1
		}
		if tokens++; tokens > maxTokens {
			return fmt.Errorf("more than %d keys, values and brackets in one body", maxTokens)
		}
	}
	return nil
}

// endsLiteral says whether c cannot be part of a number or a literal.
func endsLiteral(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ':', '[', ']', '{', '}', '"':
		return true
	}
	return false
}

// stringEnd is the index of the quote that ends the string starting at
// data[start], or len(data) if it does not end.
func stringEnd(data []byte, start int) int {
	for i := start + 1; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(data)
}

// followedByColon says whether the next byte from i that is not white
// space is a colon: a string followed by one is a key.
func followedByColon(data []byte, i int) bool {
	for ; i < len(data); i++ {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
		case ':':
			return true
		default:
			return false
		}
	}
	return false
}

// keyOf is a quoted key's text: the bytes between the quotes, or, for a
// key with an escape (rare), the key unescaped.
func keyOf(quoted []byte) ([]byte, bool) {
	if len(quoted) < 2 || quoted[len(quoted)-1] != '"' {
		return nil, false
	}
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, true
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return nil, false
	}
	return []byte(s), true
}

// inFloatRange refuses a number beyond float64's range (1e999). Only a
// number with an exponent or of over 300 digits can be, so the common one
// is not parsed; a literal that is not a number is left to encoding/json.
func inFloatRange(lit []byte) error {
	if len(lit) <= 300 && bytes.IndexAny(lit, "eE") < 0 {
		return nil
	}
	if lit[0] != '-' && (lit[0] < '0' || lit[0] > '9') {
		return nil
	}
	if _, err := strconv.ParseFloat(string(lit), 64); errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("the number %.40s is out of range", lit)
	}
	return nil
}
