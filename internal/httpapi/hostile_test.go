package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// What a hostile client found (issue 14), each kept fixed here. The
// README's abuse table names these tests.

// lingering is a store whose calls wait until their context is cancelled,
// or a while, before going on: it makes certain that a client's leaving
// reaches the store while the request is in it.
type lingering struct{ sale.Store }

func linger(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(300 * time.Millisecond):
	}
}

func (l lingering) Status(ctx context.Context) (sale.Status, error) {
	linger(ctx)
	return l.Store.Status(ctx)
}

func (l lingering) Do(ctx context.Context, c sale.Call, key string) (sale.Answer, error) {
	linger(ctx)
	return l.Store.Do(ctx, c, key)
}

// syncBuffer is a log destination that tests read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// halfClosed sends one request, closes its sending side (as `nc -N` does)
// and reads the answer, which a half-closed client is still there to read.
func halfClosed(t *testing.T, addr, request string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer after a half-close: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// A client that half-closes after its request gets the real answer: net/http
// cancels the request's context when it reads the end of the stream, and
// that cancellation used to reach the store, answering 500, logging at
// ERROR twice and counting a 5xx in /metrics. Nothing of that is left.
func TestHostileHalfClose(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	h := newHarness(t, wrapped(func(s sale.Store) sale.Store { return lingering{s} }), func(o *testkit.Options) {
		o.API.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	h.initialize(1)
	addr := strings.TrimPrefix(h.srv.URL, "http://")

	resp, body := halfClosed(t, addr, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
	wantStatus(t, resp.StatusCode, http.StatusOK, body)

	for i, want := range []int{http.StatusCreated, http.StatusAccepted} {
		doc := fmt.Sprintf(`{"user_id":"half-%d"}`, i)
		req := fmt.Sprintf("POST /reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(doc), doc)
		resp, body := halfClosed(t, addr, req)
		wantStatus(t, resp.StatusCode, want, body)
	}
	if st := h.status(); st.Held != 1 || st.WaitlistSize != 1 {
		t.Fatalf("the half-closed clients' reservations are not in the sale: %+v", st)
	}

	_, metrics := h.raw("GET", "/metrics", "", nil)
	if bytes.Contains(metrics, []byte(`code="500"`)) {
		t.Errorf("/metrics counts a 500:\n%s", metrics)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("logged at ERROR:\n%s", logs)
	}
}

// Every id the API accepts can be asked for at its own URL: `.` and `..` are
// dot segments, which clients remove (GET /users/.. is GET /), so they are
// not user ids. Ids with dots that are not all dots are.
func TestHostileDotIDs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.initialize(1)
	for _, id := range []string{".", "..", "..."} {
		resp := h.reserve(id)
		wantProblem(t, resp.StatusCode(), http.StatusBadRequest, resp.Body, "/problems/invalid-request")
	}
	for _, id := range []string{".alice", "bob.", "c..d"} {
		if code := h.reserve(id).StatusCode(); code != http.StatusCreated && code != http.StatusAccepted {
			t.Fatalf("reserve %q: %d", id, code)
		}
		r, err := h.client.GetUserWithResponse(h.ctx(), id)
		if err != nil || r.JSON200 == nil {
			t.Fatalf("GET /users/%s: %v %d %s", id, err, r.StatusCode(), r.Body)
		}
	}
}

// A percent-encoded id is the same URL as the id (RFC 3986): same answer,
// on every route with an id.
func TestHostilePercentEncodedIDs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.initialize(2)
	hold := h.hold("alice")
	h.hold("bob")
	h.reserve("carol") // in line

	_, plain := h.raw("GET", "/users/alice", "", nil)
	resp, encoded := h.raw("GET", "/users/al%69ce", "", nil)
	wantStatus(t, resp.StatusCode, http.StatusOK, encoded)
	if !bytes.Equal(plain, encoded) {
		t.Fatalf("/users/al%%69ce answered %s, /users/alice %s", encoded, plain)
	}

	id := hold.ReservationId
	escaped := fmt.Sprintf("%%%02X", id[0]) + id[1:]
	resp, body := h.raw("GET", "/reservations/"+escaped, "", nil)
	wantStatus(t, resp.StatusCode, http.StatusOK, body)
	resp, body = h.raw("POST", "/reservations/"+escaped+"/confirm", "", nil)
	wantStatus(t, resp.StatusCode, http.StatusOK, body)
	resp, body = h.raw("DELETE", "/waitlist/c%61rol", "", nil)
	wantStatus(t, resp.StatusCode, http.StatusNoContent, body)
	if st := h.status(); st.Confirmed != 1 || st.WaitlistSize != 0 {
		t.Fatalf("after confirming and leaving by encoded ids: %+v", st)
	}
}

// A key twice in one object is refused, wherever it is: a gateway that reads
// the first and a server that read the last disagreed about who the user is.
func TestHostileDuplicateKeys(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.initialize(5)
	for _, body := range []string{
		`{"user_id":"dupA","user_id":"dupB"}`,
		`{"user_id":"dupA","user_id":"dupA"}`,
	} {
		resp, got := h.raw("POST", "/reserve", "application/json", strings.NewReader(body))
		p := wantProblem(t, resp.StatusCode, http.StatusBadRequest, got, "/problems/invalid-request")
		if !strings.Contains(*p.Detail, `"user_id" appears twice`) {
			t.Errorf("%s: the detail does not name the repeated key: %s", body, *p.Detail)
		}
	}
	resp, got := h.raw("POST", "/initialize", "application/json", strings.NewReader(`{"total_inventory":1,"total_inventory":9}`),
		"Authorization", "Bearer "+adminToken)
	wantProblem(t, resp.StatusCode, http.StatusBadRequest, got, "/problems/invalid-request")
	if st := h.status(); st.Held != 0 || st.TotalInventory != 5 {
		t.Fatalf("a refused body changed the sale: %+v", st)
	}
}

// total_inventory is an integer as JSON Schema counts them: any number whose
// value is whole, however it is written, and nothing else, whatever float64
// makes of it; and every refusal is in the API's words.
func TestHostileIntegerForms(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, c := range []struct {
		number string
		total  int // 0: refused with 400
		detail string
	}{
		{"1e3", 1000, ""},
		{"3.0", 3, ""},
		{"2.50e1", 25, ""},
		{"-0.0", 0, ""},
		{"7", 7, ""},
		{"5.0000000000000000001", 0, "5.0000000000000000001 is not a whole number"},
		{"2.5", 0, "2.5 is not a whole number"},
		{"1e-400", 0, "is not a whole number"},
		{"1e9", 1000000000, ""},
		{"1.000000001e9", 0, "number must be at most"},
		{"1e30", 0, "1e30 is too large"},
		{"1e999999999", 0, "1e999999999 is out of range"},
	} {
		t.Run(c.number, func(t *testing.T) {
			body := `{"total_inventory":` + c.number + `,"reset":true}`
			resp, got := h.raw("POST", "/initialize", "application/json", strings.NewReader(body), "Authorization", "Bearer "+adminToken)
			if c.detail == "" {
				wantStatus(t, resp.StatusCode, http.StatusOK, got)
				if st := h.status(); st.TotalInventory != int64(c.total) {
					t.Fatalf("total %d, want %d", st.TotalInventory, c.total)
				}
				return
			}
			p := wantProblem(t, resp.StatusCode, http.StatusBadRequest, got, "/problems/invalid-request")
			if !strings.Contains(*p.Detail, c.detail) || strings.Contains(*p.Detail, "json:") {
				t.Fatalf("detail %q, want one with %q in the API's words", *p.Detail, c.detail)
			}
		})
	}
}

// HEAD is served wherever GET is (RFC 9110), with GET's status and headers
// and no body; /metrics is GET only.
func TestHostileHeadAndMethods(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.initialize(1)
	h.hold("alice")
	for _, path := range []string{"/healthz", "/status", "/users/alice", "/openapi.yaml", "/docs", "/docs/", "/metrics"} {
		t.Run("HEAD "+path, func(t *testing.T) {
			noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			do := func(method string) *http.Response {
				t.Helper()
				req, err := http.NewRequestWithContext(h.ctx(), method, h.srv.URL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if path == "/users/alice" {
					req.Header.Set("Authorization", "Bearer "+h.token("alice"))
				}
				resp, err := noRedirect.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
			get := do(http.MethodGet)
			get.Body.Close()
			head := do(http.MethodHead)
			defer head.Body.Close()
			body, _ := io.ReadAll(head.Body)
			if head.StatusCode != get.StatusCode || head.StatusCode >= 400 {
				t.Fatalf("HEAD %d, GET %d", head.StatusCode, get.StatusCode)
			}
			if len(body) != 0 {
				t.Fatalf("HEAD answered a body: %q", body)
			}
			if hc, gc := head.Header.Get("Content-Type"), get.Header.Get("Content-Type"); hc != gc {
				t.Fatalf("HEAD Content-Type %q, GET %q", hc, gc)
			}
		})
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS", "PATCH"} {
		resp, body := h.raw(m, "/metrics", "", nil)
		wantProblem(t, resp.StatusCode, http.StatusMethodNotAllowed, body, "/problems/method-not-allowed")
		if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
			t.Errorf("%s /metrics: Allow %q, want GET, HEAD", m, allow)
		}
	}
	// A HEAD answer has no body to hold a problem: http.Head, not the
	// harness's client, which checks every error is one.
	resp, err := http.Head(h.srv.URL + "/reserve")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantStatus(t, resp.StatusCode, http.StatusMethodNotAllowed, nil)
	if allow := resp.Header.Get("Allow"); allow != "POST" {
		t.Errorf("HEAD /reserve: Allow %q, want POST", allow)
	}
}

// Two Authorization headers are refused in either order: which one counted
// used to depend on the order.
func TestHostileTwoAuthorizationHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.initialize(5)
	for _, order := range [][2]string{{"Bearer " + adminToken, "Bearer nope"}, {"Bearer nope", "Bearer " + adminToken}} {
		req, err := http.NewRequestWithContext(h.ctx(), "POST", h.srv.URL+"/initialize", strings.NewReader(`{"total_inventory":9}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("Authorization", order[0])
		req.Header.Add("Authorization", order[1])
		resp, err := h.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantProblem(t, resp.StatusCode, http.StatusUnauthorized, body, "/problems/unauthorized")
	}
	if st := h.status(); st.TotalInventory != 5 {
		t.Fatalf("a refused initialize changed the sale: %+v", st)
	}
}

// The answers that are not problem bodies, exactly: Go's HTTP server sends
// these itself, as plain text, for requests it cannot parse as HTTP, before
// any handler runs, and closes the connection (README, "Errors"). If this
// list changes, the README must too.
func TestHostileProtocolErrorsAreNetHTTPs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	addr := strings.TrimPrefix(h.srv.URL, "http://")
	for _, c := range []struct {
		name, request string
		status        int
	}{
		{"headers over the limit", "GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", http.DefaultMaxHeaderBytes+8192) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"two different Content-Lengths", "POST /reserve HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", http.StatusBadRequest},
		{"unknown Transfer-Encoding", "POST /reserve HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", http.StatusNotImplemented},
		{"HTTP/1.1 without Host", "GET /status HTTP/1.1\r\n\r\n", http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			go io.WriteString(conn, c.request) // the server may answer before reading it all
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Fatalf("%d %q, want net/http's %d in plain text", resp.StatusCode, resp.Header.Get("Content-Type"), c.status)
			}
		})
	}
}
