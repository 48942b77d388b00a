package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/generated"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// specVerdict asks kin-openapi, with the same options as the server, whether
// body is a valid POST /reserve request.
func specVerdict(t testing.TB) func(body []byte) error {
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	registerDecoder.Do(func() { openapi3filter.RegisterBodyDecoder("application/json", strictJSON) })
	return func(body []byte) error {
		req, _ := http.NewRequest(http.MethodPost, "/reserve", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatal(err)
		}
		return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{SkipSettingDefaults: true},
		})
	}
}

func newPrecheck(t testing.TB) *reservePrecheck {
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	p, err := newReservePrecheck(spec)
	if err != nil || p == nil {
		t.Fatalf("the precheck does not understand ReserveRequest any more (%v); update it or drop it", err)
	}
	return p
}

func TestPrecheck(t *testing.T) {
	p := newPrecheck(t)
	verdict := specVerdict(t)
	for _, c := range []struct {
		body  string
		vouch bool
	}{
		{`{"user_id":"alice"}`, true},
		{` { "user_id" : "a.b:c@d-e_f" } ` + "\n", true},
		{`{"user_id":"` + strings.Repeat("x", 128) + `"}`, true},
		{`{"user_id":"` + strings.Repeat("x", 129) + `"}`, false},
		{`{"user_id":""}`, false},
		{`{"user_id":"a b"}`, false},
		{`{"user_id":"\u0061"}`, false}, // valid JSON, but escapes take the full path
		{`{"user_id":"ålice"}`, false},
		{`{"USER_ID":"alice"}`, false},
		{`{"user_id":"alice","x":1}`, false},
		{`{"user_id":"alice"}{}`, false},
		{`{"user_id":1}`, false},
		{`{"user_id":"alice"`, false},
		{``, false},
	} {
		if got := p.valid([]byte(c.body)); got != c.vouch {
			t.Errorf("valid(%q) = %v, want %v", c.body, got, c.vouch)
		}
		if c.vouch {
			if err := verdict([]byte(c.body)); err != nil {
				t.Errorf("precheck vouches for %q, which the spec rejects: %v", c.body, err)
			}
		}
	}
}

// FuzzPrecheckAgreesWithValidator: whatever the precheck vouches for, the
// full validator accepts. (The converse need not hold: the precheck passes on
// what it does not recognise.)
func FuzzPrecheckAgreesWithValidator(f *testing.F) {
	for _, s := range []string{`{"user_id":"alice"}`, ` {"user_id" :"x"}`, `{"user_id":"a\"b"}`, `{"user_id":"` + strings.Repeat("z", 128) + `"}`} {
		f.Add([]byte(s))
	}
	p := newPrecheck(f)
	verdict := specVerdict(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		if p.valid(body) {
			if err := verdict(body); err != nil {
				t.Fatalf("precheck vouches for %q, which the spec rejects: %v", body, err)
			}
		}
	})
}
