package httpapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeJSON(t *testing.T) {
	for _, c := range []struct {
		body string
		want any    // when err is ""
		err  string // a part of the error
	}{
		{`{"user_id":"alice"}`, map[string]any{"user_id": "alice"}, ""},
		{` {"a":[1,{"b":null}],"c":true} `, map[string]any{"a": []any{json.Number("1"), map[string]any{"b": nil}}, "c": true}, ""},
		{`[]`, []any{}, ""},
		{`{}`, map[string]any{}, ""},
		{`"x"`, "x", ""},
		{`{"user_id":"a","user_id":"b"}`, nil, `"user_id" appears twice`},
		{`{"a":{"k":1,"k":1}}`, nil, `"k" appears twice`},
		{`[{"k":1},{"k":1}]`, []any{map[string]any{"k": json.Number("1")}, map[string]any{"k": json.Number("1")}}, ""},
		{`{"a":1} {"a":2}`, nil, "after the JSON value"},
		{`{"a":1}x`, nil, "after the JSON value"},
		{`{"a":`, nil, "unexpected EOF"},
		{``, nil, "EOF"},
		{strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth), nil, ""},
		{strings.Repeat("[", maxDepth+1), nil, "nested deeper than 32"},
		{"[" + strings.Repeat("1,", maxTokens) + "1]", nil, "more than 1000 keys, values and brackets"},
		{`{"n":1e999}`, nil, "1e999 is out of range"},
		{`{"n":` + strings.Repeat("9", 400) + `}`, nil, "out of range"},
		{`{"n":1e308}`, map[string]any{"n": json.Number("1e308")}, ""},
	} {
		got, err := decodeJSON([]byte(c.body))
		name := c.body
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one with %q", name, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.err == "" && c.want != nil && !reflect.DeepEqual(got, c.want):
			t.Errorf("%s: %#v, want %#v", name, got, c.want)
		}
	}
}

func TestWholeDigits(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"7", "7", ""},
		{"-12", "-12", ""},
		{"1e3", "1000", ""},
		{"1E+3", "1000", ""},
		{"3.0", "3", ""},
		{"2.50e1", "25", ""},
		{"1250e-2", "", "not a whole number"},
		{"1200e-2", "12", ""},
		{"0.0", "0", ""},
		{"-0.0e-99999999999999999999", "0", ""},
		{"0e99999999999999999999", "0", ""},
		{"5.0000000000000000001", "", "not a whole number"},
		{"2.5", "", "not a whole number"},
		{"1e-400", "", "not a whole number"},
		{"1" + strings.Repeat("0", 30) + "e-30", "1", ""},
		{"1e23", "100000000000000000000000", ""},
		{"1e24", "", "too large"},
		{"1e99999999999999999999", "", "too large"},
		{"1e-99999999999999999999", "", "not a whole number"},
		{"-1.5e1", "-15", ""},
	} {
		got, err := wholeDigits(c.in)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %q, %v; want an error with %q", c.in, got, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%s: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// decodeJSON against encoding/json's Decode into any alone, which it adds
// checkShape to, on the bodies the service sees.
func BenchmarkDecodeJSON(b *testing.B) {
	for _, body := range []string{`{"user_id":"user-123456"}`, `{"total_inventory":1000,"reset":true}`} {
		b.Run("decodeJSON/"+body, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeJSON([]byte(body)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Decode/"+body, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dec := json.NewDecoder(bytes.NewReader([]byte(body)))
				dec.UseNumber()
				var v any
				if err := dec.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
