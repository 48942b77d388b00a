package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/testkit"
)

// authTarget is one server called in-process, for a whole fuzz run.
type authTarget struct {
	handler http.Handler
}

// serve sends one request with auth as its Authorization headers, and
// holds the answer to the document.
func (a authTarget) serve(t testing.TB, method, path, body string, auth []string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, v := range auth {
		req.Header.Add("Authorization", v)
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	resp := rec.Result()
	got, _ := io.ReadAll(resp.Body)
	check := httptest.NewRequest(method, path, strings.NewReader(body))
	if err := testkit.CheckAnswer(check, resp.StatusCode, resp.Header, got); err != nil {
		t.Errorf("%s %s with Authorization %q answered %d, which the document does not allow: %v\n%s", method, path, auth, resp.StatusCode, err, got)
	}
	return resp.StatusCode, resp.Header, got
}

// sameToken says whether tok is want, but for how its signature is
// spelled: base64url's last character has bits that carry nothing, which a
// decoder may ignore, so two spellings can be one signature.
func sameToken(tok, want string) bool {
	if tok == want {
		return true
	}
	i, j := strings.LastIndexByte(tok, '.'), strings.LastIndexByte(want, '.')
	if i < 0 || tok[:i] != want[:j] {
		return false
	}
	a, err1 := base64.RawURLEncoding.DecodeString(tok[i+1:])
	b, err2 := base64.RawURLEncoding.DecodeString(want[j+1:])
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}

// bearerOf is the token of the Authorization headers auth, if they are one
// bearer token: the only way to prove anyone.
func bearerOf(auth []string) (string, bool) {
	if len(auth) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(auth[0], " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}

// FuzzAuthorizationHeader sends whatever Authorization headers the fuzzer
// makes (lines of the input, one header each) to GET /users/alice and
// POST /reserve for alice. No answer may be a 5xx; only alice's token or
// the admin's reads her or reaches her hold, only mallory's is a 403, and
// every other is a 401 problem with WWW-Authenticate. Nothing changes.
func FuzzAuthorizationHeader(f *testing.F) {
	s := testkit.Start(f, testkit.Options{Clock: clocktest.New(identityT0)})
	target := authTarget{handler: s.Server().API}
	status, _, body := target.serve(f, http.MethodPost, "/initialize", `{"total_inventory":1}`, bearer(s.AdminToken))
	if status != http.StatusOK {
		f.Fatalf("initialize: %d %s", status, body)
	}
	tokens := map[string]string{}
	for _, u := range []string{"alice", "mallory"} {
		status, _, body := target.serve(f, http.MethodPost, "/reserve", `{"user_id":"`+u+`"}`, nil)
		var a shopperAnswer
		if (status != http.StatusCreated && status != http.StatusAccepted) || json.Unmarshal(body, &a) != nil || a.Token == "" {
			f.Fatalf("%s's first reserve: %d %s", u, status, body)
		}
		tokens[u] = a.Token
	}
	_, _, books := target.serve(f, http.MethodGet, "/status", "", nil)
	alice, mallory, admin := tokens["alice"], tokens["mallory"], s.AdminToken

	for _, seed := range []string{
		"", "Bearer", "Bearer ", "Bearer  ", "bearer " + alice, "BEARER " + alice, "Bearer " + alice,
		"Bearer  " + alice + "  ", "Bearer\t" + alice, "Bearer " + mallory, "Bearer " + admin,
		"Bearer " + admin + "x", "Basic YWxpY2U6c2VjcmV0", "Bearer a b", alice, "Bearer " + alice + "\nBearer " + alice,
		"Bearer " + alice + "\nBearer " + mallory, "Bearer " + alice[:len(alice)-1], "Bearer " + alice + "=",
		"Bearer " + strings.Join(forgedSignatures(alice), "\nBearer "), "Bearer " + strings.Repeat("A", 4096),
		"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.", "Bearer ...", "Bearer \x00" + alice,
		"Bearer " + strings.ReplaceAll(alice, ".", ".."), "Bearer " + mallory[:strings.LastIndexByte(mallory, '.')] + alice[strings.LastIndexByte(alice, '.'):],
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, input string) {
		auth := strings.Split(input, "\n")
		tok, isBearer := bearerOf(auth)
		isAlice := isBearer && (tok == admin || sameToken(tok, alice))
		isMallory := isBearer && sameToken(tok, mallory)
		for _, c := range []struct {
			method, path, body string
			// ok is alice's own answer (and the admin's).
			ok     int
			okType generated.ProblemType
		}{
			{http.MethodGet, "/users/alice", "", http.StatusOK, ""},
			{http.MethodPost, "/reserve", `{"user_id":"alice"}`, http.StatusConflict, generated.ProblemTypeAlreadyReserved},
		} {
			status, header, body := target.serve(t, c.method, c.path, c.body, auth)
			var p generated.Problem
			_ = json.Unmarshal(body, &p)
			switch {
			case status >= 500:
				t.Fatalf("%s %s with %q: %d %s", c.method, c.path, auth, status, body)
			case isAlice:
				if status != c.ok || p.Type != c.okType {
					t.Fatalf("%s %s with alice's or the admin's token %q: %d %s, want %d %s", c.method, c.path, auth, status, body, c.ok, c.okType)
				}
			case isMallory:
				if status != http.StatusForbidden || p.Type != generated.ProblemTypeForbidden {
					t.Fatalf("%s %s with mallory's token: %d %s, want 403 forbidden", c.method, c.path, status, body)
				}
			default:
				if status != http.StatusUnauthorized || p.Type != generated.ProblemTypeUnauthorized {
					t.Fatalf("%s %s with Authorization %q: %d %s, want 401 unauthorized", c.method, c.path, auth, status, body)
				}
				if !strings.HasPrefix(header.Get("WWW-Authenticate"), `Bearer realm="flashsale"`) {
					t.Fatalf("%s %s with Authorization %q: a 401 with WWW-Authenticate %q", c.method, c.path, auth, header.Get("WWW-Authenticate"))
				}
			}
			if !isAlice && strings.Contains(string(body), "reservation_id") {
				t.Fatalf("%s %s with Authorization %q: an answer that carries a reservation: %s", c.method, c.path, auth, body)
			}
		}
		if _, _, now := target.serve(t, http.MethodGet, "/status", "", nil); !bytes.Equal(now, books) {
			t.Fatalf("Authorization %q changed the sale:\nbefore %s\nafter  %s", auth, books, now)
		}
	})
}
