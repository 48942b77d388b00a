package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/memory"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

const (
	adminToken = "test-admin-token"
	holdTTL    = 5 * time.Minute
)

var epoch = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// harness is one server under test: the real HTTP stack over the in-memory
// store with a fake clock, reached through the generated typed client. Every
// response that passes through the client is checked against
// api/openapi.yaml, so a handler that answers something the document does
// not allow fails the test that provoked it.
type harness struct {
	t      *testing.T
	clock  *clocktest.Clock
	store  sale.Store
	hub    *live.Hub
	srv    *httptest.Server
	client *generated.ClientWithResponses
	http   *http.Client // raw, but still validating
}

type option func(*httpapi.Config)

func withRateLimit(perSecond float64, burst int) option {
	return func(c *httpapi.Config) { c.RateLimit, c.RateBurst = perSecond, burst }
}

func withStore(s sale.Store) option {
	return func(c *httpapi.Config) { c.Store = s }
}

// withLive gives the server a hub of the test's own (over the test's
// store, given withStore).
func withLive(hub *live.Hub) option {
	return func(c *httpapi.Config) { c.Live = hub }
}

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	clock := clocktest.New(epoch)
	st, err := memory.New(sale.Config{HoldTTL: holdTTL, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	cfg := httpapi.Config{Store: st, AdminToken: adminToken, Now: clock.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.Live == nil {
		hub, err := live.Start(live.Config{Store: cfg.Store, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(hub.Close)
		cfg.Live = hub
	}
	h, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &validating{t: t, router: router, next: http.DefaultTransport}, Timeout: 10 * time.Second}
	client, err := generated.NewClientWithResponses(srv.URL, generated.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, clock: clock, store: cfg.Store, hub: cfg.Live, srv: srv, client: client, http: hc}
}

// validating is a RoundTripper that checks each response against the spec:
// status listed for the operation, headers, and body schema. Answers from
// routes outside the document (unknown paths, /metrics, /docs) must still be
// problem bodies when they are errors.
type validating struct {
	t      *testing.T
	router routers.Router
	next   http.RoundTripper
}

func (v *validating) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))

	route, params, err := v.router.FindRoute(req)
	if err != nil {
		if resp.StatusCode >= 400 {
			checkProblem(v.t, resp.StatusCode, resp.Header, body)
		}
		return resp, nil
	}
	if err := validateResponse(req, route, params, resp.StatusCode, resp.Header, body); err != nil {
		v.t.Errorf("%s %s answered %d, which api/openapi.yaml does not allow: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	if resp.StatusCode >= 400 {
		checkProblem(v.t, resp.StatusCode, resp.Header, body)
	}
	return resp, nil
}

// validateResponse checks one answer against the operation the request
// matched: a status the document lists for it, and headers and body that
// match what it says of that status.
func validateResponse(req *http.Request, route *routers.Route, params map[string]string, status int, header http.Header, body []byte) error {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// checkProblem asserts an RFC 9457 body whose status matches the response's.
func checkProblem(t *testing.T, status int, h http.Header, body []byte) {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("status %d: Content-Type %q, want application/problem+json", status, ct)
		return
	}
	var p generated.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Errorf("status %d: problem body does not decode: %v: %s", status, err, body)
		return
	}
	if p.Status != status || !p.Type.Valid() || p.Title == "" || p.Detail == nil || *p.Detail == "" {
		t.Errorf("status %d: incomplete problem %+v", status, p)
	}
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

func asAdmin(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", "Bearer "+adminToken)
	return nil
}

// initialize starts a sale of n units and fails the test if that fails.
func (h *harness) initialize(n int64) {
	h.t.Helper()
	resp, err := h.client.InitializeWithResponse(h.ctx(), nil, generated.InitializeRequest{TotalInventory: n}, asAdmin)
	if err != nil || resp.StatusCode() != http.StatusOK {
		h.t.Fatalf("initialize %d: %v %d %s", n, err, resp.StatusCode(), resp.Body)
	}
}

// reserve posts /reserve for user and returns the typed response.
func (h *harness) reserve(user string) *generated.ReserveResponse {
	h.t.Helper()
	resp, err := h.client.ReserveWithResponse(h.ctx(), nil, generated.ReserveRequest{UserId: user})
	if err != nil {
		h.t.Fatalf("reserve %s: %v", user, err)
	}
	return resp
}

// hold reserves for user and requires a 201.
func (h *harness) hold(user string) generated.Hold {
	h.t.Helper()
	resp := h.reserve(user)
	if resp.JSON201 == nil {
		h.t.Fatalf("reserve %s: got %d %s, want 201", user, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

// userAs reads where user stands, which must be the shape S of UserState
// (generated.UserNone, UserWaiting, UserHeld or UserConfirmed): another
// shape fails the test, saying which.
func userAs[S any](h *harness, user string) S {
	h.t.Helper()
	resp, err := h.client.GetUserWithResponse(h.ctx(), user)
	if err != nil || resp.JSON200 == nil {
		h.t.Fatalf("user %s: %v %s", user, err, resp.Body)
	}
	v, err := resp.JSON200.ValueByDiscriminator()
	if err != nil {
		h.t.Fatalf("user %s: %v: %s", user, err, resp.Body)
	}
	u, ok := v.(S)
	if !ok {
		h.t.Fatalf("user %s is %T, want %T: %s", user, v, u, resp.Body)
	}
	return u
}

func (h *harness) status() generated.Status {
	h.t.Helper()
	resp, err := h.client.GetStatusWithResponse(h.ctx())
	if err != nil || resp.JSON200 == nil {
		h.t.Fatalf("status: %v %s", err, resp.Body)
	}
	return *resp.JSON200
}

// raw sends a request by hand, for inputs the typed client cannot express.
func (h *harness) raw(method, path, contentType string, body io.Reader, header ...string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.ctx(), method, h.srv.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

// problemType decodes the problem type of an error body.
func problemType(t *testing.T, body []byte) generated.Problem {
	t.Helper()
	var p generated.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not a problem body: %v: %s", err, body)
	}
	return p
}

func wantStatus(t *testing.T, got, want int, body []byte) {
	t.Helper()
	if got != want {
		t.Fatalf("status %d, want %d; body: %s", got, want, body)
	}
}

func wantProblem(t *testing.T, status, wantStatusCode int, body []byte, wantType generated.ProblemType) generated.Problem {
	t.Helper()
	wantStatus(t, status, wantStatusCode, body)
	p := problemType(t, body)
	if p.Type != wantType {
		t.Fatalf("problem type %q, want %q; body: %s", p.Type, wantType, body)
	}
	return p
}
