package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// checkedClient is an HTTP client whose every answer is held to
// api/openapi.yaml: a status the document lists for the operation, headers
// and a body that match what it says of that status, and a problem body
// for every error, routes outside the document (unknown paths, /metrics,
// /docs) included. What does not match fails t. An event stream's body is
// left to the test to read.
func checkedClient(t testing.TB, jar *Jar) *http.Client {
	var next http.RoundTripper = http.DefaultTransport
	if jar != nil {
		next = jar.Transport(next)
	}
	return &http.Client{Transport: &checked{t: t, router: documentRouter(t), next: next}, Timeout: 10 * time.Second}
}

// documentRouter routes requests to the document's operations, to know
// which operation an answer is held to.
func documentRouter(t testing.TB) routers.Router {
	t.Helper()
	r, err := loadRouter()
	if err != nil {
		t.Fatalf("testkit: route the document: %v", err)
	}
	return r
}

var loadRouter = sync.OnceValues(func() (routers.Router, error) {
	spec, err := generated.GetSwagger()
	if err != nil {
		return nil, err
	}
	return gorillamux.NewRouter(spec)
})

type checked struct {
	t      testing.TB
	router routers.Router
	next   http.RoundTripper
}

func (c *checked) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil || resp.Header.Get("Content-Type") == "text/event-stream" {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := CheckAnswer(req, resp.StatusCode, resp.Header, body); err != nil {
		c.t.Errorf("%s %s answered %d, which api/openapi.yaml does not allow: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

// CheckAnswer holds one answer to the document: for a route it has, a
// status it lists for the operation with headers and a body that match; for
// any error, a complete RFC 9457 problem whose status is the answer's.
func CheckAnswer(req *http.Request, status int, header http.Header, body []byte) error {
	router, err := loadRouter()
	if err != nil {
		return err
	}
	if route, params, err := router.FindRoute(req); err == nil {
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 status,
			Header:                 header,
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		}
		in.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			return err
		}
	}
	if status >= 400 {
		return checkProblem(status, header, body)
	}
	return nil
}

// checkProblem says what is wrong with an error's problem body, if anything.
func checkProblem(status int, h http.Header, body []byte) error {
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		return &problemError{"Content-Type " + ct + ", want application/problem+json"}
	}
	var p generated.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		return &problemError{"the problem body does not decode: " + err.Error()}
	}
	if p.Status != status || !p.Type.Valid() || p.Title == "" || p.Detail == nil || *p.Detail == "" {
		return &problemError{"an incomplete problem, or one whose status is not the answer's"}
	}
	return nil
}

type problemError struct{ why string }

func (e *problemError) Error() string { return e.why }
