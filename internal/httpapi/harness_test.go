package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

const (
	adminToken = testkit.AdminToken
	holdTTL    = 5 * time.Minute
)

var epoch = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// harness is one server under test: the real HTTP stack over the in-memory
// store with a fake clock, reached through the generated typed client. Every
// response that passes through the client is checked against
// api/openapi.yaml (testkit), so a handler that answers something the
// document does not allow fails the test that provoked it.
//
// client and http are shoppers' devices: they keep the token each user's
// first reserve answered and send it on every later call about that user
// (testkit.Jar). bare is a stranger's client, which sends only the tokens a
// test gives it.
type harness struct {
	t      *testing.T
	clock  *clocktest.Clock
	store  sale.Store
	srv    *testkit.Server
	jar    *testkit.Jar
	client *generated.ClientWithResponses
	http   *http.Client // raw, but still checked
	bare   *generated.ClientWithResponses
}

// option changes what newHarness starts.
type option func(*testkit.Options)

func withRateLimit(perSecond float64, burst int) option {
	return func(o *testkit.Options) { o.API.RateLimit, o.API.RateBurst = perSecond, burst }
}

// wrapped serves the store through wrap, to make it fail or slow.
func wrapped(wrap func(sale.Store) sale.Store) option {
	return func(o *testkit.Options) { o.Wrap = wrap }
}

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	o := testkit.Options{Clock: clocktest.New(epoch), Sale: sale.Config{HoldTTL: holdTTL}}
	for _, f := range opts {
		f(&o)
	}
	stack := testkit.Start(t, o)
	srv := stack.Server()
	return &harness{t: t, clock: o.Clock, store: srv.Store, srv: srv, jar: stack.Jar, client: srv.Client, http: srv.HTTP, bare: srv.Bare}
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

// token is the shopper token user's first reserve answered; the test fails
// if there was none.
func (h *harness) token(user string) string {
	h.t.Helper()
	tok := h.jar.Token(user)
	if tok == "" {
		h.t.Fatalf("%s has no shopper token: they never reserved", user)
	}
	return tok
}

// as makes a call with user's token, whatever the call is about: how a
// shopper asks about a reservation or a user that is not theirs, or one
// that does not exist.
func (h *harness) as(user string) generated.RequestEditorFn {
	tok := h.token(user)
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
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
	resp, err := h.client.ReserveWithResponse(h.ctx(), nil, generated.ReserveRequest{UserId: userID(user)})
	if err != nil {
		h.t.Fatalf("reserve %s: %v", user, err)
	}
	return resp
}

// userID is user as a reserve's body names them (user_id is optional: a
// shop's token may name the user instead).
func userID(user string) *generated.UserID { return &user }

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
// shape fails the test, saying which. It asks with user's own token unless
// editors say otherwise (asAdmin, for a user who never reserved).
func userAs[S any](h *harness, user string, editors ...generated.RequestEditorFn) S {
	h.t.Helper()
	resp, err := h.client.GetUserWithResponse(h.ctx(), user, editors...)
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

// openStreams is how many event streams the server has open, as /metrics
// says.
func (h *harness) openStreams() int {
	h.t.Helper()
	_, body := h.raw(http.MethodGet, "/metrics", "", nil)
	for _, line := range strings.Split(string(body), "\n") {
		if n, ok := strings.CutPrefix(line, "flashsale_streams_open "); ok {
			open, err := strconv.Atoi(n)
			if err != nil {
				h.t.Fatalf("flashsale_streams_open %q: %v", n, err)
			}
			return open
		}
	}
	h.t.Fatalf("no flashsale_streams_open in /metrics:\n%s", body)
	return 0
}

// raw sends a request by hand, for inputs the typed client cannot express,
// from the shoppers' devices (with the token of the user it is about).
func (h *harness) raw(method, path, contentType string, body io.Reader, header ...string) (*http.Response, []byte) {
	h.t.Helper()
	return h.send(h.http, method, path, contentType, body, header...)
}

// rawBare is raw from a stranger's client, or from a device that never got
// the answer that carried the token: only the headers given are sent.
func (h *harness) rawBare(method, path, contentType string, body io.Reader, header ...string) (*http.Response, []byte) {
	h.t.Helper()
	return h.send(h.srv.BareHTTP, method, path, contentType, body, header...)
}

func (h *harness) send(client *http.Client, method, path, contentType string, body io.Reader, header ...string) (*http.Response, []byte) {
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
	resp, err := client.Do(req)
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
