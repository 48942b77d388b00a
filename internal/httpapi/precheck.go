package httpapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
)

// reservePrecheck vouches for the one body a crowd sends, POST /reserve with
// {"user_id":"..."}, in well under a microsecond, where the general validator
// takes about five. It only ever says "valid"; anything it cannot vouch for
// (other spacing, escapes, extra fields, a bad id) goes through the full
// validator, which also writes the error. So answers are the same with or
// without it, and the rules it applies are read from api/openapi.yaml: the
// property name, pattern and length bounds of ReserveRequest.user_id.
// FuzzPrecheckAgreesWithValidator checks that it never accepts a body that
// the validator rejects.
type reservePrecheck struct {
	route    string // chi route pattern, e.g. "/reserve"
	key      []byte // `"user_id"`
	pattern  *regexp.Regexp
	min, max int
}

// newReservePrecheck reads the rules from the document. If ReserveRequest no
// longer has the shape this code understands (one required string property,
// no others allowed), it returns nil and every body takes the full path.
func newReservePrecheck(spec *openapi3.T) (*reservePrecheck, error) {
	ref := spec.Components.Schemas["ReserveRequest"]
	if ref == nil || ref.Value == nil {
		return nil, nil
	}
	s := ref.Value
	if len(s.Properties) != 1 || len(s.Required) != 1 || s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
		return nil, nil
	}
	name := s.Required[0]
	prop := s.Properties[name]
	if prop == nil || prop.Value == nil || !prop.Value.Type.Is(openapi3.TypeString) || prop.Value.Pattern == "" ||
		prop.Value.MaxLength == nil || prop.Value.Format != "" || prop.Value.Enum != nil {
		return nil, nil
	}
	re, err := regexp.Compile(prop.Value.Pattern)
	if err != nil {
		return nil, fmt.Errorf("ReserveRequest.%s pattern: %w", name, err)
	}
	return &reservePrecheck{
		route:   "/reserve",
		key:     []byte(`"` + name + `"`),
		pattern: re,
		min:     int(prop.Value.MinLength),
		max:     int(*prop.Value.MaxLength),
	}, nil
}

// skip is the request validator's Skipper: true when the body is one the
// precheck vouches for. It reads the body and always puts it back.
func (p *reservePrecheck) skip(r *http.Request) bool {
	if p == nil || r.Method != http.MethodPost || chi.RouteContext(r.Context()).RoutePattern() != p.route {
		return false
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		// Hand the same failure (say, body too large) to the validator.
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return p.valid(body)
}

// valid accepts exactly: optional space, {, optional space, the key, optional
// space, :, optional space, a string with no escapes or control characters,
// optional space, }, optional space; and a value that satisfies the schema.
func (p *reservePrecheck) valid(b []byte) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if !bytes.HasPrefix(b[i:], p.key) {
		return false
	}
	i = skipSpace(b, i+len(p.key))
	if i >= len(b) || b[i] != ':' {
		return false
	}
	i = skipSpace(b, i+1)
	if i >= len(b) || b[i] != '"' {
		return false
	}
	start := i + 1
	end := start
	for end < len(b) && b[end] != '"' {
		if b[end] == '\\' || b[end] < 0x20 {
			return false
		}
		end++
	}
	if end >= len(b) {
		return false
	}
	i = skipSpace(b, end+1)
	if i >= len(b) || b[i] != '}' || skipSpace(b, i+1) != len(b) {
		return false
	}
	v := b[start:end]
	if !utf8.Valid(v) {
		return false
	}
	n := utf8.RuneCount(v)
	return n >= p.min && n <= p.max && p.pattern.Match(v)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
