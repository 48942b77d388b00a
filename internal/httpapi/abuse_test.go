package httpapi_test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// The abuse suite: what an attacker sends and what they get. The README's
// abuse table lists the same cases; each row names the test that holds it.

func TestAbuseAdminToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.initialize(5)
	body := `{"total_inventory":1000,"reset":true}`
	for _, c := range []struct{ name, header string }{
		{"no token", ""},
		{"wrong token", "Bearer nope"},
		{"same length wrong token", "Bearer " + strings.Repeat("x", len(adminToken))},
		{"right token but one byte", "Bearer " + adminToken[:len(adminToken)-1] + "X"},
		{"prefix of the token", "Bearer " + adminToken[:4]},
		{"token with a suffix", "Bearer " + adminToken + "x"},
		{"wrong scheme", "Basic " + adminToken},
		{"scheme only", "Bearer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.header != "" {
				hdr = []string{"Authorization", c.header}
			}
			resp, got := h.raw("POST", "/initialize", "application/json", strings.NewReader(body), hdr...)
			wantProblem(t, resp.StatusCode, http.StatusUnauthorized, got, "/problems/unauthorized")
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without WWW-Authenticate: Bearer (got %q)", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// The token in the query string is not a token.
	resp, got := h.raw("POST", "/initialize?access_token="+adminToken, "application/json", strings.NewReader(body))
	wantProblem(t, resp.StatusCode, http.StatusUnauthorized, got, "/problems/unauthorized")
	if st := h.status(); st.TotalInventory != 5 {
		t.Fatalf("a refused initialize changed the sale: %+v", st)
	}
}

// TestAbuseManyUsers: with the limit on new users per client address off, as
// here, one client posing as 10,000 new users gets each of them served once
// (the per-user limit does not stop this: newusers_test.go holds the limit
// that does), while one user bursting is limited on its own.
func TestAbuseManyUsers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withRateLimit(5, 10))
	h.initialize(100)
	const users = 10_000
	held, waiting := 0, 0
	for i := range users {
		resp := h.reserve("crowd-" + strconv.Itoa(i))
		switch resp.StatusCode() {
		case http.StatusCreated:
			held++
		case http.StatusAccepted:
			waiting++
		default:
			t.Fatalf("user %d: %d %s", i, resp.StatusCode(), resp.Body)
		}
	}
	if held != 100 || waiting != users-100 {
		t.Fatalf("%d held, %d waiting; want 100 and %d", held, waiting, users-100)
	}
	// One user, a first reserve and then eleven attempts at once with the
	// token it gave: the burst is ten (the first proves nobody, so it is
	// not counted as the user's).
	for i := 0; i <= 10; i++ {
		if code := h.reserve("hoarder").StatusCode(); code != http.StatusAccepted {
			t.Fatalf("hoarder attempt %d: %d, want 202 (in line)", i, code)
		}
	}
	resp := h.reserve("hoarder")
	if resp.StatusCode() != http.StatusTooManyRequests {
		t.Fatalf("hoarder attempt 11 with the token: %d %s, want 429", resp.StatusCode(), resp.Body)
	}
	if s, err := strconv.Atoi(resp.HTTPResponse.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("429 Retry-After %q, want whole seconds >= 1", resp.HTTPResponse.Header.Get("Retry-After"))
	}
	// Others are not held back by the hoarder's limit.
	if code := h.reserve("bystander").StatusCode(); code != http.StatusAccepted {
		t.Fatalf("bystander: %d, want 202", code)
	}
}

func TestAbuseHugeAndNestedJSON(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.initialize(5)
	for _, c := range []struct {
		name, body string
		status     int
		problem    generated.ProblemType
	}{
		{"over 1 MiB", `{"user_id":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "/problems/body-too-large"},
		{"just under 1 MiB of array", "[" + strings.Repeat("1,", (1<<20-2)/2-1) + "1]", 400, "/problems/invalid-request"},
		{"just under 1 MiB of keys", `{"user_id":"a"` + strings.Repeat(`,"k":1`, (1<<20-20)/6) + `}`, 400, "/problems/invalid-request"},
		{"100k nested arrays", strings.Repeat("[", 100_000), 400, "/problems/invalid-request"},
		{"100k nested objects", strings.Repeat(`{"a":`, 100_000), 400, "/problems/invalid-request"},
		{"nested within the limit, closed", strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000), 400, "/problems/invalid-request"},
		{"a long number", `{"user_id":` + strings.Repeat("9", 500_000) + `}`, 400, "/problems/invalid-request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, got := h.raw("POST", "/reserve", "application/json", strings.NewReader(c.body))
			wantProblem(t, resp.StatusCode, c.status, got, c.problem)
		})
	}
	if st := h.status(); st.Held != 0 || st.WaitlistSize != 0 {
		t.Fatalf("bad bodies changed the sale: %+v", st)
	}
}

func TestAbuseUserIDCharacters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.initialize(5)
	for _, user := range []string{"ålice", "アリス", "a\u0000b", "a\tb", "a\nb", "a\u202eb", "a b", "a/b", "a%2Fb", "../admin",
		"\u00a0", "a\u200bb", "😀", "", strings.Repeat("u", 129)} {
		t.Run(fmt.Sprintf("%q", user), func(t *testing.T) {
			body := fmt.Sprintf(`{"user_id":%q}`, user)
			resp, got := h.raw("POST", "/reserve", "application/json", strings.NewReader(body))
			wantProblem(t, resp.StatusCode, http.StatusBadRequest, got, "/problems/invalid-request")
			if user == "" || strings.Contains(user, "/") {
				return // not a single path segment; FuzzPathIDs and TestAbusePathTraversal cover those
			}
			// Nobody may ask about a user without a token, and the
			// operator, who may ask about anyone, is told the id is wrong.
			resp, got = h.raw("GET", "/users/"+url.PathEscape(user), "", nil)
			wantProblem(t, resp.StatusCode, http.StatusUnauthorized, got, "/problems/unauthorized")
			resp, got = h.raw("GET", "/users/"+url.PathEscape(user), "", nil, "Authorization", "Bearer "+adminToken)
			wantProblem(t, resp.StatusCode, http.StatusBadRequest, got, "/problems/invalid-request")
		})
	}
}

// TestAbuseGuessReservationIDs: ids are 128 random bits; a thousand guesses
// by a shopper, in the right format, find nothing, and the wrong format is
// refused unread.
func TestAbuseGuessReservationIDs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.initialize(50)
	for i := range 50 {
		h.hold("owner-" + strconv.Itoa(i)) // real ids exist to be found
	}
	guesser := []string{"Authorization", "Bearer " + h.token("owner-0")}
	for range 1000 {
		var b [16]byte
		rand.Read(b[:])
		id := base64.RawURLEncoding.EncodeToString(b[:])
		for _, op := range []struct{ method, suffix string }{{"GET", ""}, {"POST", "/confirm"}, {"POST", "/cancel"}} {
			resp, got := h.raw(op.method, "/reservations/"+id+op.suffix, "", nil, guesser...)
			wantProblem(t, resp.StatusCode, http.StatusNotFound, got, "/problems/reservation-not-found")
		}
	}
	for _, id := range []string{"1", "00000000000000000000000", "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAA*", "' OR 1=1 --"} {
		resp, got := h.raw("GET", "/reservations/"+url.PathEscape(id), "", nil, guesser...)
		wantProblem(t, resp.StatusCode, http.StatusBadRequest, got, "/problems/invalid-request")
	}
	if st := h.status(); st.Confirmed != 0 || st.Held != 50 {
		t.Fatalf("guessing changed the sale: %+v", st)
	}
}

// rawRequest writes one request line and headers by hand over TCP, so that
// paths reach the server exactly as written (a client library might clean
// them), and returns the status code and body of the answer. header is
// name, value pairs to send too.
func rawRequest(t *testing.T, addr, method, target string, header ...string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, addr)
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(conn, "%s: %s\r\n", header[i], header[i+1])
	}
	fmt.Fprint(conn, "\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String()
}

func TestAbusePathTraversal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.initialize(5)
	addr := strings.TrimPrefix(h.srv.URL, "http://")
	for _, c := range []struct{ method, target string }{
		{"GET", "/reservations/..%2F..%2Fetc%2Fpasswd"},
		{"GET", "/reservations/../status"},
		{"GET", "/reservations/%2e%2e/status"},
		{"POST", "/reservations/..%2F..%2Finitialize/confirm"},
		{"GET", "/users/../status"},
		{"GET", "/users/..%2Fstatus"},
		{"GET", "/users/%2e%2e%2fstatus"},
		{"DELETE", "/waitlist/..%2F..%2Finitialize"},
		{"GET", "/users/alice/../../status"},
		{"GET", "//status/../users/x"},
		{"GET", "/users/%00"},
		{"GET", "/users/%zz"},
	} {
		t.Run(c.method+" "+c.target, func(t *testing.T) {
			// The operator's token, which every operation admits, so that
			// only the path can be refused; and none, refused first for that
			// wherever the path names an operation.
			for _, who := range []struct {
				name   string
				header []string
				want   []int
			}{
				{"as the operator", []string{"Authorization", "Bearer " + adminToken}, []int{http.StatusBadRequest, http.StatusNotFound}},
				{"with no token", nil, []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound}},
			} {
				code, body := rawRequest(t, addr, c.method, c.target, who.header...)
				if !slices.Contains(who.want, code) {
					t.Fatalf("%s: %d %s, want one of %v", who.name, code, body, who.want)
				}
				if strings.Contains(body, "total_inventory") {
					t.Fatalf("%s: answered with another resource: %s", who.name, body)
				}
			}
		})
	}
}

// TestAbuseManyConnections: 2,000 connections opened and left idle do not
// stop the server from answering a new client.
func TestAbuseManyConnections(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.initialize(5)
	addr := strings.TrimPrefix(h.srv.URL, "http://")
	const idle = 2000
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range idle {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if i%2 == 0 {
			// Half of them start a request and stall, holding a handler-less
			// connection in the header-reading state.
			fmt.Fprintf(c, "GET /status HTTP/1.1\r\nHost: x\r\n")
		}
		conns = append(conns, c)
	}
	if code, body := rawRequest(t, addr, "GET", "/status"); code != http.StatusOK {
		t.Fatalf("with %d idle connections: %d %s", idle, code, body)
	}
	if code := h.reserve("late-comer").StatusCode(); code != http.StatusCreated {
		t.Fatalf("reserve with %d idle connections: %d", idle, code)
	}
}
