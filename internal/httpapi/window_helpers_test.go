package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// A sale window (issue 26) through the HTTP API, on a fake clock, over
// every store and across two servers (testkit.Each): every call goes to
// the next server, as a load balancer would spread them, so that what one
// server scheduled, drew or closed is what the other answers.

// The window of these tests: an opening ten minutes after epoch and a close
// a little over two minutes after it, both to the microsecond, so that the
// holds the draw gives (holdTTL, five minutes) outlive the close.
var (
	winOpens  = epoch.Add(10*time.Minute + 123456*time.Microsecond)
	winCloses = winOpens.Add(2*time.Minute + 654321*time.Microsecond)
)

// stampUS writes t as a client sends it: RFC 3339 in UTC, to the
// microsecond.
func stampUS(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// windowBody is an initialize body; a zero time is left out.
func windowBody(total int64, opens, closes time.Time, reset bool) string {
	m := map[string]any{"total_inventory": total}
	if !opens.IsZero() {
		m["opens_at"] = stampUS(opens)
	}
	if !closes.IsZero() {
		m["closes_at"] = stampUS(closes)
	}
	if reset {
		m["reset"] = true
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// windowStack is a stack seen as one harness per server, all sharing the
// stack's jar and fake clock.
type windowStack struct {
	t     *testing.T
	clock *clocktest.Clock
	hs    []*harness
	calls int
}

func newWindowStack(t *testing.T, s *testkit.Stack) *windowStack {
	w := &windowStack{t: t, clock: s.Clock}
	for _, srv := range s.Servers {
		w.hs = append(w.hs, &harness{t: t, clock: s.Clock, store: srv.Store, srv: srv, jar: s.Jar, client: srv.Client, http: srv.HTTP, bare: srv.Bare})
	}
	return w
}

// next is the next server's harness.
func (w *windowStack) next() *harness {
	w.calls++
	return w.hs[w.calls%len(w.hs)]
}

// initialize posts body to /initialize as the admin, on the next server.
func (w *windowStack) initialize(body string, header ...string) answer {
	w.t.Helper()
	resp, b := w.next().raw(http.MethodPost, "/initialize", "application/json", strings.NewReader(body),
		append([]string{"Authorization", "Bearer " + adminToken}, header...)...)
	return answerOf(resp, b)
}

// statusOf is a 200 answer's status.
func statusOf(t *testing.T, a answer) generated.Status {
	t.Helper()
	wantStatus(t, a.status, http.StatusOK, a.body)
	var st generated.Status
	if err := json.Unmarshal(a.body, &st); err != nil {
		t.Fatalf("status %s: %v", a.body, err)
	}
	return st
}

// entrants is GET /draw/entrants as the admin, on the next server.
func (w *windowStack) entrants() []string {
	w.t.Helper()
	h := w.next()
	resp, err := h.client.GetDrawEntrantsWithResponse(h.ctx(), asAdmin)
	if err != nil {
		w.t.Fatalf("entrants: %v", err)
	}
	wantStatus(w.t, resp.StatusCode(), http.StatusOK, resp.Body)
	if ct := resp.HTTPResponse.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		w.t.Errorf("entrants as %q, want text/plain", ct)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	if !strings.HasSuffix(string(resp.Body), "\n") {
		w.t.Errorf("the entrants' last line has no newline: %q", resp.Body)
	}
	return strings.Split(strings.TrimSuffix(string(resp.Body), "\n"), "\n")
}

// wantStatusIs fails unless st is want, times compared as instants.
func wantStatusIs(t *testing.T, st, want generated.Status) {
	t.Helper()
	same := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
	str := func(s *string) string {
		if s == nil {
			return "<nil>"
		}
		return *s
	}
	if !same(st.OpensAt, want.OpensAt) || !same(st.ClosesAt, want.ClosesAt) || str(st.DrawCommitment) != str(want.DrawCommitment) || str(st.DrawSeed) != str(want.DrawSeed) {
		t.Fatalf("status window %v %v commitment %s seed %s, want %v %v %s %s", st.OpensAt, st.ClosesAt, str(st.DrawCommitment), str(st.DrawSeed),
			want.OpensAt, want.ClosesAt, str(want.DrawCommitment), str(want.DrawSeed))
	}
	st.OpensAt, st.ClosesAt, st.DrawCommitment, st.DrawSeed = nil, nil, nil, nil
	want.OpensAt, want.ClosesAt, want.DrawCommitment, want.DrawSeed = nil, nil, nil, nil
	if st != want {
		t.Fatalf("status %+v, want %+v", st, want)
	}
}

// revealed checks the seed a status reveals against the commitment
// published before the opening, and returns it.
func revealed(t *testing.T, st generated.Status, commitment string) []byte {
	t.Helper()
	if st.DrawSeed == nil {
		t.Fatalf("no draw_seed after the opening: %+v", st)
	}
	seed, err := hex.DecodeString(*st.DrawSeed)
	if err != nil || len(seed) != sale.SeedSize || !hex64.MatchString(*st.DrawSeed) {
		t.Fatalf("draw_seed %q is not 32 bytes in lowercase hex (%v)", *st.DrawSeed, err)
	}
	if sum := sha256.Sum256(seed); hex.EncodeToString(sum[:]) != commitment {
		t.Fatalf("sha256(draw_seed) = %x, but the commitment published before the opening is %s", sum, commitment)
	}
	return seed
}
