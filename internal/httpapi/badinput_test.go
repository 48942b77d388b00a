package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
)

// Every bad input gets a clear 4xx problem and changes nothing.
func TestReserveBadInput(t *testing.T) {
	h := newHarness(t)
	h.initialize(10)
	before := h.status()
	cases := []struct {
		name, contentType, body string
		status                  int
		problem                 generated.ProblemType
	}{
		{"malformed JSON", "application/json", `{"user_id":`, 400, "/problems/invalid-request"},
		{"not an object", "application/json", `"alice"`, 400, "/problems/invalid-request"},
		{"wrong type", "application/json", `{"user_id":42}`, 400, "/problems/invalid-request"},
		{"missing field", "application/json", `{}`, 400, "/problems/invalid-request"},
		{"unknown field", "application/json", `{"user_id":"a","admin":true}`, 400, "/problems/invalid-request"},
		{"empty user", "application/json", `{"user_id":""}`, 400, "/problems/invalid-request"},
		{"over-long user", "application/json", `{"user_id":"` + strings.Repeat("u", 129) + `"}`, 400, "/problems/invalid-request"},
		{"unsafe characters", "application/json", `{"user_id":"a/b"}`, 400, "/problems/invalid-request"},
		{"unicode", "application/json", `{"user_id":"ålice"}`, 400, "/problems/invalid-request"},
		{"control character", "application/json", `{"user_id":"a\u0000b"}`, 400, "/problems/invalid-request"},
		{"null", "application/json", `null`, 400, "/problems/invalid-request"},
		{"empty body", "application/json", ``, 400, "/problems/invalid-request"},
		{"deeply nested", "application/json", strings.Repeat("[", 100000), 400, "/problems/invalid-request"},
		{"trailing garbage", "application/json", `{"user_id":"a"} {"user_id":"b"}`, 400, "/problems/invalid-request"},
		{"text content type", "text/plain", `{"user_id":"a"}`, 415, "/problems/unsupported-media-type"},
		{"form content type", "application/x-www-form-urlencoded", `user_id=a`, 415, "/problems/unsupported-media-type"},
		{"no content type", "", `{"user_id":"a"}`, 415, "/problems/unsupported-media-type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := h.raw("POST", "/reserve", c.contentType, strings.NewReader(c.body))
			wantProblem(t, resp.StatusCode, c.status, body, c.problem)
		})
	}
	if got := h.status(); got != before {
		t.Fatalf("bad input changed the sale: %+v, was %+v", got, before)
	}
}

func TestBodyTooLarge(t *testing.T) {
	h := newHarness(t)
	h.initialize(10)
	big := `{"user_id":"` + strings.Repeat("a", 1<<20) + `"}`
	resp, body := h.raw("POST", "/reserve", "application/json", strings.NewReader(big))
	wantProblem(t, resp.StatusCode, 413, body, "/problems/body-too-large")

	// Without a Content-Length (chunked), the limit is hit while reading.
	resp, body = h.raw("POST", "/reserve", "application/json", io.MultiReader(strings.NewReader(big)))
	wantProblem(t, resp.StatusCode, 413, body, "/problems/body-too-large")

	resp, body = h.raw("POST", "/initialize", "application/json", bytes.NewReader([]byte(big)), "Authorization", "Bearer "+adminToken)
	wantProblem(t, resp.StatusCode, 413, body, "/problems/body-too-large")
}

// panicky is a store whose Reserve panics for one user, standing in for a
// bug: the request gets a 500 problem and the server keeps serving.
type panicky struct{ sale.Store }

func (p panicky) Do(ctx context.Context, c sale.Call, key string) (sale.Answer, error) {
	if c.Op == sale.OpReserve && c.UserID == "boom" {
		panic("simulated bug")
	}
	return p.Store.Do(ctx, c, key)
}

// failing is a store whose reads fail, standing in for a backend outage.
type failing struct{ sale.Store }

func (failing) Status(context.Context) (sale.Status, error) {
	return sale.Status{}, errors.New("backend unavailable")
}

func TestServerErrorsAreProblems(t *testing.T) {
	h := newHarness(t, wrapped(func(s sale.Store) sale.Store { return panicky{s} }))
	h.initialize(5)
	resp := h.reserve("boom")
	wantProblem(t, resp.StatusCode(), 500, resp.Body, "/problems/internal")
	if resp := h.reserve("fine"); resp.StatusCode() != 201 {
		t.Fatalf("server did not keep serving: %d %s", resp.StatusCode(), resp.Body)
	}

	h2 := newHarness(t, wrapped(func(s sale.Store) sale.Store { return failing{s} }))
	r, err := h2.client.GetStatusWithResponse(h2.ctx())
	if err != nil {
		t.Fatal(err)
	}
	p := wantProblem(t, r.StatusCode(), 500, r.Body, "/problems/internal")
	if strings.Contains(*p.Detail, "backend unavailable") {
		t.Errorf("internal error text leaked to the client: %s", r.Body)
	}
}
