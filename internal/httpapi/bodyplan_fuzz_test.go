package httpapi

import (
	"bytes"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/generated"
)

// documentBodies are the document's request bodies twice over: as served
// (the plan first) and the general path alone (decodeJSON, wholeNumbers
// and kin-openapi's VisitJSON), which is what every body took before plans.
func documentBodies(t testing.TB) (planned, general []*requestBody, names []string) {
	t.Helper()
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	v, err := newRequestValidator(spec, &authenticator{}, false, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	keys := slices.SortedFunc(maps.Keys(v.ops), func(a, b opKey) int { return strings.Compare(a.String(), b.String()) })
	for _, key := range keys {
		op := v.ops[key]
		if op.body == nil {
			continue
		}
		if op.body.plan == nil {
			t.Fatalf("%s: the body's schema did not compile into a plan, so it is checked by the general path only", key)
		}
		bare := *op.body
		bare.plan = nil
		planned, general, names = append(planned, op.body), append(general, &bare), append(names, key.String())
	}
	return planned, general, names
}

// validateBytes runs b.validate on a request whose body is data, and gives
// the value it leaves for the strict handler, or its error's text.
func validateBytes(b *requestBody, data []byte) (any, string) {
	r, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	if err := b.validate(r); err != nil {
		return nil, err.Error()
	}
	if vb, ok := r.Body.(*validatedBody); ok {
		return vb.value, ""
	}
	return nil, ""
}

// FuzzBodyPlan runs every body through both paths of each of the document's
// request bodies: they must agree on accept or refuse, refuse in the same
// words (the problem's detail is that text), and give the strict handler
// the same value.
func FuzzBodyPlan(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"alice"}`, ` { "user_id" : "m1-42" } `, "{\"user_id\":\"a\"}\n", `{}`, `{"user_id":""}`,
		`{"user_id":"."}`, `{"user_id":"a.b:c@d_e-f"}`, `{"user_id":"a/b"}`, `{"user_id":"ålice"}`, `{"user_id":"\u0061"}`,
		`{"user_id":"` + strings.Repeat("u", 128) + `"}`, `{"user_id":"` + strings.Repeat("u", 129) + `"}`,
		`{"user_id":null}`, `{"user_id":1}`, `{"user_id":true}`, `{"user_id":"a","user_id":"a"}`, `{"USER_ID":"a"}`,
		`{"user_id":"a",}`, `{"user_id":"a"}x`, `{"user_id":"a"} {}`, `{"user_id" "a"}`, `[]`, `null`, `"a"`, ``, ` `,
		`{"total_inventory":10}`, `{"total_inventory":0,"reset":true}`, `{"reset":false,"total_inventory":1000000000}`,
		`{"total_inventory":-0}`, `{"total_inventory":-1}`, `{"total_inventory":1000000001}`, `{"total_inventory":1e3}`,
		`{"total_inventory":5.0}`, `{"total_inventory":5.5}`, `{"total_inventory":05}`, `{"total_inventory":5.}`,
		`{"total_inventory":.5}`, `{"total_inventory":1E+2}`, `{"total_inventory":1e-400}`, `{"total_inventory":1e999}`,
		`{"total_inventory":"5"}`, `{"total_inventory":5,"reset":"yes"}`, `{"total_inventory":5,"reset":tru}`,
		`{"total_inventory":5,"reset":truex}`, `{"total_inventory":5,"admin":true}`,
		`{"total_inventory":5,"opens_at":"2026-12-07T10:00:00Z","closes_at":"2026-12-07T11:00:00.5+01:00"}`,
		`{"total_inventory":5,"opens_at":"yesterday"}`, `{"total_inventory":5,"opens_at":"2026-13-07T10:00:00Z"}`,
		`{"total_inventory":99999999999999999999999}`, `{"total_inventory":5.0000000000000000001}`,
	} {
		for op := range uint8(2) {
			f.Add([]byte(s), op)
		}
	}
	planned, general, names := documentBodies(f)
	f.Fuzz(func(t *testing.T, data []byte, op uint8) {
		i := int(op) % len(planned)
		got, gotErr := validateBytes(planned[i], data)
		want, wantErr := validateBytes(general[i], data)
		if gotErr != wantErr || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s %q:\nwith its plan: %#v %q\ngeneral path:  %#v %q", names[i], data, got, gotErr, want, wantErr)
		}
	})
}
