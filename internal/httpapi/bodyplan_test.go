package httpapi

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestCompileBodyRefusesWhatItDoesNotCheck: a schema with any keyword the
// plan does not check stays on the general path, so that no keyword is
// skipped in silence. Each case is the document's ReserveRequest with one
// thing changed.
func TestCompileBodyRefusesWhatItDoesNotCheck(t *testing.T) {
	userID := func() *openapi3.Schema {
		return openapi3.NewStringSchema().WithMinLength(1).WithMaxLength(128).WithPattern(`^[a-z]+$`)
	}
	body := func(prop *openapi3.Schema) *openapi3.Schema {
		s := openapi3.NewObjectSchema().WithProperty("user_id", prop)
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
		return s
	}
	if _, err := compileBody(body(userID())); err != nil {
		t.Fatalf("the plain body: %v", err)
	}
	for name, s := range map[string]*openapi3.Schema{
		"enum":          body(userID().WithEnum("a", "b")),
		"nullable":      body(userID().WithNullable()),
		"readOnly":      body(func() *openapi3.Schema { s := userID(); s.ReadOnly = true; return s }()),
		"default":       body(func() *openapi3.Schema { s := userID(); s.Default = "a"; return s }()),
		"a \\u pattern": body(userID().WithPattern(`^\u0061+$`)),
		"a bad pattern": body(userID().WithPattern(`(`)),
		"a number":      body(openapi3.NewFloat64Schema()),
		"bounds":        body(openapi3.NewIntegerSchema().WithMin(0)),
		"an array":      body(openapi3.NewArraySchema().WithItems(userID())),
		"an object":     body(openapi3.NewObjectSchema()),
		"anyOf":         body(openapi3.NewAnyOfSchema(userID(), openapi3.NewBoolSchema())),
		"two types":     body(&openapi3.Schema{Type: &openapi3.Types{"string", "integer"}}),
		"not an object": userID(),
		"minProperties": func() *openapi3.Schema { s := body(userID()); s.MinProps = 1; return s }(),
		"additional": func() *openapi3.Schema {
			s := body(userID())
			s.AdditionalProperties.Schema = userID().NewRef()
			return s
		}(),
		"undeclared req": func() *openapi3.Schema { s := body(userID()); s.Required = []string{"name"}; return s }(),
	} {
		if _, err := compileBody(s); err == nil {
			t.Errorf("%s: compiled, want it left to the general path", name)
		}
	}
}

// TestBodyPlanAcceptsOnlyThePlainSpelling: what the plan is not sure of it
// leaves to the general path (accept says not ok), valid or not; the
// differential fuzz (FuzzBodyPlan) checks that what it accepts is exactly
// what VisitJSON accepts.
func TestBodyPlanAcceptsOnlyThePlainSpelling(t *testing.T) {
	planned, _, names := documentBodies(t)
	var reserve *bodyPlan
	for i, n := range names {
		if strings.HasSuffix(n, " /reserve") {
			reserve = planned[i].plan
		}
	}
	if reserve == nil {
		t.Fatal("no plan for POST /reserve")
	}
	for body, want := range map[string]bool{
		`{"user_id":"alice"}`:           true,
		"\t{ \"user_id\" :\"a\" }\r\n":  true,
		`{}`:                            true,  // user_id is optional for a shopper with a token
		`{"user_id":"\u0061"}`:          false, // valid, but escaped
		`{"user_id":"ålice"}`:           false,
		`{"user_id":"a/b"}`:             false,
		`{"user_id":null}`:              false,
		`{"user_id":"a","x":1}`:         false,
		`{"user_id":"a","user_id":"a"}`: false,
		`{"user_id":"a"}{}`:             false,
	} {
		if _, ok := reserve.accept([]byte(body)); ok != want {
			t.Errorf("%q: accepted %v, want %v", body, ok, want)
		}
	}
}
