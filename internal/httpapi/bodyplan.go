package httpapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// bodyPlan is a request body's schema compiled once, at start, into the
// checks openapi3.Schema.VisitJSON would make of a body of the one shape
// the document's bodies have: a flat object of strings, integers and
// booleans. It reads the body's bytes in one pass, with no decoding into
// `any` and no walk of the schema per request, and answers in one of two
// ways:
//
//   - accepted, with the value decodeJSON and wholeNumbers would have made
//     of the same bytes, for the strict handler to bind;
//   - not sure, for anything else: a refusal, but also anything unusual
//     (an escape in a string, a byte outside printable ASCII, a null,
//     nesting). The body then takes the general path, decodeJSON and
//     VisitJSON, as every body did before.
//
// So it never refuses: every refusal, and its wording, is still
// kin-openapi's; and it accepts only what VisitJSON accepts, which
// FuzzBodyPlan checks against VisitJSON itself. What it does not
// understand in a schema it does not compile (compileBody says why), and
// that operation's bodies all take the general path.
type bodyPlan struct {
	props    map[string]*propPlan
	required uint64 // bit i: props in order of index i is required
}

// propPlan is one property's checks.
type propPlan struct {
	name  string // the map key, shared by every body: no allocation per key
	index uint   // its bit in bodyPlan.required and in a body's seen set
	kind  propKind
	// delegate: the property has a format, whose check is kin-openapi's
	// own (formats are registered there): the value is checked by
	// VisitJSON against the property's schema alone, not the whole body.
	delegate *openapi3.Schema
	// strings: length bounds in UTF-16 code units, as JSON Schema counts
	// (a plan's strings are ASCII, where that is the byte count);
	// maxLen < 0 means none.
	minLen, maxLen int
	// pattern is checked by ascii when the pattern compiles to it (the
	// document's do), else by Go's regexp.
	pattern *regexp.Regexp
	ascii   *asciiPattern
}

type propKind int

const (
	kindString propKind = iota
	kindInteger
	kindBoolean
)

// maxPlanProps bounds the properties a plan tracks, one bit each.
const maxPlanProps = 64

// compileBody compiles an object schema, or says what it has that a plan
// does not check. Every keyword of a schema is either read here or must be
// unset: a keyword this code does not know (kin-openapi's future ones
// included) keeps the schema on the general path rather than being
// silently skipped.
func compileBody(s *openapi3.Schema) (*bodyPlan, error) {
	if s == nil {
		return nil, fmt.Errorf("no schema")
	}
	if !s.Type.Is(openapi3.TypeObject) {
		return nil, fmt.Errorf("not an object")
	}
	if ap := s.AdditionalProperties; ap.Schema != nil {
		return nil, fmt.Errorf("additionalProperties is a schema")
	}
	rest := *s
	rest.Type, rest.Properties, rest.Required, rest.AdditionalProperties = nil, nil, nil, openapi3.AdditionalProperties{}
	if err := onlyDocumentation(rest); err != nil {
		return nil, err
	}
	if len(s.Properties) > maxPlanProps {
		return nil, fmt.Errorf("more than %d properties", maxPlanProps)
	}
	plan := &bodyPlan{props: make(map[string]*propPlan, len(s.Properties))}
	for _, name := range componentNamesOf(s.Properties) {
		ref := s.Properties[name]
		if ref == nil || ref.Value == nil {
			return nil, fmt.Errorf("property %q: unresolved", name)
		}
		p, err := compileProp(ref.Value)
		if err != nil {
			return nil, fmt.Errorf("property %q: %w", name, err)
		}
		p.name, p.index = name, uint(len(plan.props))
		plan.props[name] = p
	}
	for _, name := range s.Required {
		p := plan.props[name]
		if p == nil {
			// VisitJSON would ask for a property the plan cannot accept.
			return nil, fmt.Errorf("required property %q is not declared", name)
		}
		plan.required |= 1 << p.index
	}
	return plan, nil
}

func compileProp(s *openapi3.Schema) (*propPlan, error) {
	p := &propPlan{maxLen: -1}
	rest := *s
	rest.Type = nil
	switch {
	case s.Type.Is(openapi3.TypeString):
		p.kind = kindString
	case s.Type.Is(openapi3.TypeInteger):
		p.kind = kindInteger
	case s.Type.Is(openapi3.TypeBoolean):
		p.kind = kindBoolean
	default:
		return nil, fmt.Errorf("type %v", s.Type.Slice())
	}
	if s.ReadOnly || s.WriteOnly {
		return nil, fmt.Errorf("readOnly or writeOnly") // the object's check, not the value's
	}
	if s.Format != "" {
		// kin-openapi checks the whole value against the property's
		// schema, every keyword of it.
		p.delegate = s
		return p, nil
	}
	if p.kind == kindString {
		p.minLen, rest.MinLength = int(s.MinLength), 0
		if s.MaxLength != nil {
			p.maxLen, rest.MaxLength = int(*s.MaxLength), nil
		}
		if s.Pattern != "" {
			// kin-openapi rewrites \uXXXX before compiling; any other
			// pattern it compiles as Go's regexp, as here.
			if strings.Contains(s.Pattern, `\u`) {
				return nil, fmt.Errorf("pattern with \\u")
			}
			re, err := regexp.Compile(s.Pattern)
			if err != nil {
				return nil, fmt.Errorf("pattern: %w", err)
			}
			p.pattern, rest.Pattern = re, ""
			p.ascii, _ = compilePattern(s.Pattern) // nil: regexp checks it
		}
	}
	// An integer's bounds are not compiled: the document's integers have a
	// format (int64), which hands their whole check to kin-openapi.
	if err := onlyDocumentation(rest); err != nil {
		return nil, err
	}
	return p, nil
}

// onlyDocumentation says whether s, with the keywords its caller checks
// cleared, has only keywords that check nothing.
func onlyDocumentation(s openapi3.Schema) error {
	s.Extensions, s.Origin, s.Title, s.Description = nil, nil, "", ""
	s.Example, s.Examples, s.ExternalDocs, s.Deprecated = nil, nil, nil, false
	if !reflect.DeepEqual(s, openapi3.Schema{}) {
		return fmt.Errorf("a keyword the plan does not check")
	}
	return nil
}

// componentNamesOf is the names in a stable order, so that a plan's bits
// are the same from run to run.
func componentNamesOf(props openapi3.Schemas) []string {
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// accept reads data, a whole request body. It returns the decoded body when
// it is sure the schema accepts it, and ok false when it is not sure.
func (plan *bodyPlan) accept(data []byte) (value map[string]any, ok bool) {
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '{' {
		return nil, false
	}
	value = make(map[string]any, len(plan.props))
	var seen uint64
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return value, seen&plan.required == plan.required && skipSpace(data, i+1) == len(data)
	}
	for {
		start, end, ok := plainString(data, i)
		if !ok {
			return nil, false
		}
		p := plan.props[string(data[start:end])] // no allocation: a lookup by bytes
		if p == nil || seen&(1<<p.index) != 0 {
			return nil, false // a key the schema refuses, or twice: the general path says so
		}
		seen |= 1 << p.index
		if i = skipSpace(data, end+1); i == len(data) || data[i] != ':' {
			return nil, false
		}
		var v any
		if v, i, ok = p.read(data, skipSpace(data, i+1)); !ok {
			return nil, false
		}
		value[p.name] = v
		if i = skipSpace(data, i); i == len(data) {
			return nil, false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return value, seen&plan.required == plan.required && skipSpace(data, i+1) == len(data)
		default:
			return nil, false
		}
	}
}

// read reads the property's value at data[i:] and checks it: the value as
// decodeJSON and wholeNumbers would give it, and where it ends.
func (p *propPlan) read(data []byte, i int) (any, int, bool) {
	var v any
	end := i
	switch p.kind {
	case kindString:
		start, stop, ok := plainString(data, i)
		if !ok {
			return nil, 0, false
		}
		s := string(data[start:stop])
		if len(s) < p.minLen || (p.maxLen >= 0 && len(s) > p.maxLen) || !p.matches(s) {
			return nil, 0, false
		}
		v, end = s, stop+1
	case kindInteger:
		stop, ok := numberEnd(data, i)
		if !ok {
			return nil, 0, false
		}
		digits, err := wholeDigits(string(data[i:stop]))
		if err != nil {
			return nil, 0, false
		}
		v, end = json.Number(digits), stop
	case kindBoolean:
		switch {
		case hasLiteral(data, i, "true"):
			v, end = true, i+len("true")
		case hasLiteral(data, i, "false"):
			v, end = false, i+len("false")
		default:
			return nil, 0, false
		}
	}
	if p.delegate != nil && p.delegate.VisitJSON(v, bodyOptions...) != nil {
		return nil, 0, false
	}
	return v, end, true
}

// matches says whether s, an ASCII string, matches the property's pattern.
func (p *propPlan) matches(s string) bool {
	switch {
	case p.ascii != nil:
		return p.ascii.match(s)
	case p.pattern != nil:
		return p.pattern.MatchString(s)
	}
	return true
}
