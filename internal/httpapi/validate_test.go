package httpapi

import (
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/memory"
	"github.com/go-chi/chi/v5"
	"github.com/oapi-codegen/runtime"
)

// testValidator is the server's validator, built from the embedded document.
func testValidator(t *testing.T) *requestValidator {
	t.Helper()
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	auth := &authenticator{admin: sha256.Sum256([]byte("token"))}
	v, err := newRequestValidator(spec, auth, false, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The body is decoded once: the validator hands the value it checked to the
// generated handler's BindJSONBody, which binds it without reading the
// bytes again. Here the bytes are drained before binding, so a second parse
// would find nothing.
func TestTheValidatedBodyIsBoundNotParsedAgain(t *testing.T) {
	v := testValidator(t)
	var got generated.ReserveRequest
	var bindErr error
	r := chi.NewRouter()
	r.With(v.middleware).Post("/reserve", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		bindErr = runtime.BindJSONBody(r, &got)
	})
	req := httptest.NewRequest(http.MethodPost, "/reserve", strings.NewReader(`{"user_id":"alice"}`))
	req.Header.Set("Content-Type", "application/json")
	r.ServeHTTP(httptest.NewRecorder(), req)
	if bindErr != nil || got.UserId == nil || *got.UserId != "alice" {
		t.Fatalf("bound %+v, %v; want alice from the validated value", got, bindErr)
	}
}

// Routing happens once, in chi: the validator finds the document's
// operation by the route chi matched. So every route the server serves
// outside its own pages must be an operation of the document, and every
// operation must be served.
func TestEveryServedRouteIsAnOperationOfTheDocument(t *testing.T) {
	st, err := memory.New(sale.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	api, err := New(Config{Store: st, AdminToken: "token"})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	v := testValidator(t)
	ops := v.ops
	own := map[string]bool{"/metrics": true, "/openapi.yaml": true, "/docs": true, "/docs/*": true, "/": true, "/static/*": true}
	served := make(map[string]bool)
	err = chi.Walk(api.Handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if own[route] {
			return nil
		}
		served[method+" "+route] = true
		if ops[opKey{method, route}] == nil {
			t.Errorf("%s %s is served but is no operation of api/openapi.yaml", method, route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for op := range ops {
		if !served[op.String()] {
			t.Errorf("%s is in api/openapi.yaml but not served", op)
		}
	}
}

func (k opKey) String() string { return k.method + " " + k.path }
