package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// The fuzz targets below send whatever the fuzzer makes through the whole
// HTTP stack and hold every answer to api/openapi.yaml: a status the
// document lists for the operation, a body and headers that match it, a
// problem body for every error, and never a 500 or a hang.

// fuzzTarget is one server for a whole fuzz run, called in-process.
type fuzzTarget struct {
	handler http.Handler
	router  routers.Router
}

// fuzzShopper is the user whose token the fuzz targets call with, as the
// shopper they are.
const fuzzShopper = "alice"

// shopperToken makes user known to the sale with a reserve, and returns the
// token it was answered with.
func (ft *fuzzTarget) shopperToken(f *testing.F, user string) string {
	f.Helper()
	rec := httptest.NewRecorder()
	ft.handler.ServeHTTP(rec, jsonPost("/reserve", []byte(`{"user_id":"`+user+`"}`)))
	var b struct {
		Token string `json:"shopper_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Token == "" {
		f.Fatalf("reserve %s: %d %s", user, rec.Code, rec.Body)
	}
	return b.Token
}

func newFuzzTarget(f *testing.F, inventory int64) *fuzzTarget {
	f.Helper()
	srv := testkit.Start(f, testkit.Options{
		Clock: clocktest.New(epoch),
		Sale:  sale.Config{HoldTTL: holdTTL},
		API:   httpapi.Config{RateLimit: 5, RateBurst: 10},
	}).Server()
	if _, err := sale.Initialize(context.Background(), srv.Store, inventory, false); err != nil {
		f.Fatal(err)
	}
	spec, err := generated.GetSwagger()
	if err != nil {
		f.Fatal(err)
	}
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzTarget{handler: srv.API, router: router}
}

// serve sends one request and returns the answer after checking it against
// the document. It fails t if the handler does not return within 10s.
func (ft *fuzzTarget) serve(t *testing.T, req *http.Request, body []byte) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	req = req.WithContext(ctx)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ft.handler.ServeHTTP(rec, req)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s %s did not return within 10s", req.Method, req.URL)
	}
	resp := rec.Result()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s with body %q: %d %s", req.Method, req.URL, body, resp.StatusCode, got)
	}
	if resp.StatusCode >= 400 {
		fuzzCheckProblem(t, resp, got)
	}
	if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
		t.Fatalf("%s %s: 401 with WWW-Authenticate %q, want a Bearer challenge", req.Method, req.URL, resp.Header.Get("WWW-Authenticate"))
	}
	// Route the request again for the validator, with the body it sent.
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	if _, _, err := ft.router.FindRoute(vreq); err != nil {
		// No operation in the document matches: only "no such route" answers fit.
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("%s %s matches no operation, yet answered %d %s", req.Method, req.URL, resp.StatusCode, got)
		}
		return resp.StatusCode, got
	}
	if err := testkit.CheckAnswer(vreq, resp.StatusCode, resp.Header, got); err != nil {
		t.Fatalf("%s %s with body %q answered %d, which api/openapi.yaml does not allow: %v\nbody: %s",
			req.Method, req.URL, body, resp.StatusCode, err, got)
	}
	return resp.StatusCode, got
}

func fuzzCheckProblem(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d: Content-Type %q, want application/problem+json", resp.StatusCode, ct)
	}
	var p generated.Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Status != resp.StatusCode || !p.Type.Valid() {
		t.Fatalf("status %d: not a matching problem body (%v): %s", resp.StatusCode, err, body)
	}
}

// fuzzProblemType returns the type of a problem body ("" if none).
func fuzzProblemType(body []byte) generated.ProblemType {
	var p generated.Problem
	_ = json.Unmarshal(body, &p)
	return p.Type
}

var (
	userIDPattern        = regexp.MustCompile(`^[A-Za-z0-9._:@-]{1,128}$`)
	reservationIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
)

// validUserID is the document's UserID: 1-128 of `A-Za-z0-9._:@-`, not all
// dots (`.` and `..` would vanish from /users/{user_id}).
func validUserID(id string) bool {
	return userIDPattern.MatchString(id) && strings.Trim(id, ".") != ""
}

// jsonObject decodes body as exactly one JSON object, keys as sent, numbers
// as text; ok is false for anything else, and for an object with a key twice.
func jsonObject(body []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil || v == nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, len(topLevelKeys(body)) == len(v)
}

// topLevelKeys lists the keys of a JSON object as they appear, repeats
// included, skipping each value whole; body is known to be an object.
func topLevelKeys(body []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	var keys []string
	if _, err := dec.Token(); err != nil { // {
		return nil
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
		keys = append(keys, k.(string))
	}
	return keys
}

// validReserveBody is the document's ReserveRequest, written out as an oracle.
func validReserveBody(body []byte) bool {
	v, ok := jsonObject(body)
	if !ok || len(v) != 1 {
		return false
	}
	user, ok := v["user_id"].(string)
	// Not all dots: `.` and `..` would vanish from /users/{user_id}.
	return ok && validUserID(user)
}

func jsonPost(path string, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func FuzzReserveBody(f *testing.F) {
	for _, s := range []string{`{"user_id":"alice"}`, `{"user_id":""}`, `{"user_id":"a/b"}`, `{"user_id":"ålice"}`,
		`{"user_id":"a\u0000b"}`, `{"user_id":"a","x":1}`, `{"USER_ID":"a"}`, `{"user_id":"a","user_id":"b"}`,
		`{"user_id":"a"} {"user_id":"b"}`, `{"user_id":42}`, `[]`, `null`, ``, `{`, strings.Repeat("[", 1000),
		`{"user_id":"` + strings.Repeat("u", 129) + `"}`, "\xef\xbb\xbf{\"user_id\":\"a\"}", `{"user_id":"a\ud800"}`} {
		f.Add([]byte(s))
	}
	ft := newFuzzTarget(f, 3)
	// Sent with no token, as by someone new: a user new to the sale is
	// answered with their token; one the sale knows (an earlier input made
	// them) is refused for want of theirs, or limited for trying too often.
	f.Fuzz(func(t *testing.T, body []byte) {
		status, got := ft.serve(t, jsonPost("/reserve", body), body)
		want := []int{http.StatusBadRequest}
		if validReserveBody(body) {
			want = []int{http.StatusCreated, http.StatusAccepted, http.StatusUnauthorized, http.StatusTooManyRequests}
		}
		if !slices.Contains(want, status) {
			t.Fatalf("POST /reserve %q: %d %s, want one of %v", body, status, got, want)
		}
		switch status {
		case http.StatusCreated, http.StatusAccepted:
			var b struct {
				Token string `json:"shopper_token"`
			}
			if json.Unmarshal(got, &b) != nil || b.Token == "" {
				t.Fatalf("POST /reserve %q: a new user's %d has no shopper_token: %s", body, status, got)
			}
		case http.StatusUnauthorized:
			if typ := fuzzProblemType(got); typ != "/problems/token-required" {
				t.Fatalf("POST /reserve %q: 401 %s, want token-required", body, got)
			}
		}
	})
}

// initializeClass sorts an initialize body by the document's
// InitializeRequest: valid or not. An integer is what JSON Schema calls
// one: a number whose exact value is whole (1e3, 5.0), told here with
// math/big's exact rationals.
func initializeClass(body []byte) bool {
	v, ok := jsonObject(body)
	if !ok {
		return false
	}
	for k, x := range v {
		switch k {
		case "reset":
			if _, ok := x.(bool); !ok {
				return false
			}
		case "total_inventory":
		default:
			return false
		}
	}
	n, ok := v["total_inventory"].(json.Number)
	if !ok {
		return false
	}
	r, ok := exactNumber(string(n))
	return ok && r.IsInt() && r.Sign() >= 0 && r.Cmp(big.NewRat(sale.MaxInventory, 1)) <= 0
}

// exactNumber is a JSON number's exact value, or false for one whose
// exponent is so far from 0 (a million) that its value cannot be a whole
// number in range unless it is zero: working it out would take minutes.
func exactNumber(n string) (*big.Rat, bool) {
	mant, exp, ok := strings.Cut(strings.ToLower(n), "e")
	if ok {
		if e, err := strconv.ParseInt(exp, 10, 64); err != nil || e > 1e6 || e < -1e6 {
			zero := strings.Trim(mant, "-0.") == ""
			return new(big.Rat), zero
		}
	}
	r, ok := new(big.Rat).SetString(n)
	return r, ok
}

func FuzzInitializeBody(f *testing.F) {
	for _, s := range []string{`{"total_inventory":10}`, `{"total_inventory":0,"reset":true}`, `{"total_inventory":-1}`,
		`{"total_inventory":1000000001}`, `{"total_inventory":1e3}`, `{"total_inventory":5.0}`, `{"total_inventory":"5"}`,
		`{"total_inventory":5,"reset":"yes"}`, `{"total_inventory":5,"admin":true}`, `{}`, `null`, ``, strings.Repeat("{", 1000),
		`{"total_inventory":99999999999999999999999}`, `{"total_inventory":5.0000000000000000001}`, `{"total_inventory":1e-400}`,
		`{"total_inventory":3,"total_inventory":4}`, `{"total_inventory":1e999999999}`} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(1))
	}
	ft := newFuzzTarget(f, 0)
	shopper := ft.shopperToken(f, fuzzShopper)
	f.Fuzz(func(t *testing.T, body []byte, auth uint8) {
		req := jsonPost("/initialize", body)
		switch auth % 5 {
		case 0: // the right token
			req.Header.Set("Authorization", "Bearer "+adminToken)
		case 1: // none
		case 2: // wrong, same length
			req.Header.Set("Authorization", "Bearer "+strings.Repeat("x", len(adminToken)))
		case 3: // wrong scheme
			req.Header.Set("Authorization", "Basic "+adminToken)
		case 4: // a shopper's, valid but not the operator's
			req.Header.Set("Authorization", "Bearer "+shopper)
		}
		status, got := ft.serve(t, req, body)
		var want []int
		switch {
		case auth%5 != 0:
			// Refused for the token, before the body is read: never done.
			want = []int{http.StatusUnauthorized}
		case initializeClass(body):
			want = []int{http.StatusOK, http.StatusConflict}
		default:
			want = []int{http.StatusBadRequest}
		}
		if !slices.Contains(want, status) {
			t.Fatalf("POST /initialize %q (auth %d): %d %s, want one of %v", body, auth%5, status, got, want)
		}
	})
}

// The callers of FuzzPathIDs.
const (
	callerAdmin    = iota // the operator, whom every operation admits
	callerNone            // no Authorization
	callerShopper         // fuzzShopper, with their own token
	callerBadToken        // a bearer token no one issued
	callers
)

func FuzzPathIDs(f *testing.F) {
	for _, s := range []string{"alice", "bob", "3q2-7wAAAAAs9Qx0nE4ybA", "", ".", "..", "../status", "..%2F..%2Fetc", "a/b",
		"ålice", "a\x00b", "a b", "%", "%zz", strings.Repeat("u", 129), "AAAAAAAAAAAAAAAAAAAAA=", "a?b", "a#b"} {
		for op := range uint8(5) {
			for who := range uint8(callers) {
				f.Add(s, op, who)
			}
		}
	}
	// The shopper holds the one unit, so that nobody waits and no input
	// changes the sale: DELETE /waitlist/{id} finds no one to remove, and
	// nobody's reservation id can be guessed.
	ft := newFuzzTarget(f, 1)
	shopper := ft.shopperToken(f, fuzzShopper)
	f.Fuzz(func(t *testing.T, id string, op, who uint8) {
		esc := url.PathEscape(id)
		var req *http.Request
		isUser := false
		switch op % 5 {
		case 0:
			req = httptest.NewRequest(http.MethodGet, "/reservations/"+esc, nil)
		case 1:
			req = httptest.NewRequest(http.MethodPost, "/reservations/"+esc+"/confirm", nil)
		case 2:
			req = httptest.NewRequest(http.MethodPost, "/reservations/"+esc+"/cancel", nil)
		case 3:
			req, isUser = httptest.NewRequest(http.MethodGet, "/users/"+esc, nil), true
		case 4:
			req, isUser = httptest.NewRequest(http.MethodDelete, "/waitlist/"+esc, nil), true
		}
		switch who % callers {
		case callerAdmin:
			req.Header.Set("Authorization", "Bearer "+adminToken)
		case callerShopper:
			req.Header.Set("Authorization", "Bearer "+shopper)
		case callerBadToken:
			req.Header.Set("Authorization", "Bearer "+strings.Repeat("x", len(shopper)))
		}
		status, got := ft.serve(t, req, nil)
		typ := fuzzProblemType(got)
		noRoute := status == http.StatusNotFound && typ == "/problems/not-found"
		switch {
		case who%callers == callerNone || who%callers == callerBadToken:
			// Who is asking is proven first: whatever the id, the answer
			// tells nothing of it, unless the path names no operation.
			if status != http.StatusUnauthorized && !noRoute {
				t.Fatalf("%s %s (caller %d): %d %s, want 401, or 404 no route", req.Method, req.URL, who%callers, status, got)
			}
		case who%callers == callerShopper && isUser && validUserID(id) && id != fuzzShopper:
			if status != http.StatusForbidden || typ != "/problems/forbidden" {
				t.Fatalf("%s %s as %s: %d %s, want 403 forbidden", req.Method, req.URL, fuzzShopper, status, got)
			}
		case isUser && validUserID(id):
			// GET: every well-formed user exists (as "none"); DELETE: nobody waits.
			if want := map[bool]int{true: 200, false: 404}[op%5 == 3]; status != want {
				t.Fatalf("%s %s: %d %s, want %d", req.Method, req.URL, status, got, want)
			}
		case !isUser && reservationIDPattern.MatchString(id):
			if status != http.StatusNotFound || typ != "/problems/reservation-not-found" {
				t.Fatalf("%s %s: %d %s, want 404 reservation-not-found for an id never issued", req.Method, req.URL, status, got)
			}
		default:
			// Malformed: refused as invalid, or no route at all (an empty
			// id). Never looked up, so never "reservation not found".
			if status != http.StatusBadRequest && !noRoute {
				t.Fatalf("%s %s (id %q): %d %s, want 400, or 404 no route", req.Method, req.URL, id, status, got)
			}
		}
	})
}
