package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// Idempotency-Key on every POST (issue 11): a retry with the same key gets
// the first answer, byte for byte, with Idempotency-Replayed: true, and
// changes nothing. Every answer goes through the harness's typed client or
// its validating transport, so each is checked against api/openapi.yaml.

const replayedHeader = "Idempotency-Replayed"

// answer is one response as the wire carried it.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func answerOf(r *http.Response, body []byte) answer {
	return answer{status: r.StatusCode, header: r.Header, body: body}
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, a.body) }

// keyedReserve posts /reserve for user with Idempotency-Key key, from
// user's device: with their token once they have one.
func (h *harness) keyedReserve(user, key string) answer {
	h.t.Helper()
	return h.keyedReserveFrom(h.client, user, key)
}

// retriedClaim is the retry of a new user's first reserve whose answer was
// lost: sent, as the first was, with no token, since the token was in the
// answer. It gets that answer again, the very token included.
func (h *harness) retriedClaim(user, key string) answer {
	h.t.Helper()
	return h.keyedReserveFrom(h.bare, user, key)
}

func (h *harness) keyedReserveFrom(c *generated.ClientWithResponses, user, key string) answer {
	h.t.Helper()
	resp, err := c.ReserveWithResponse(h.ctx(), &generated.ReserveParams{IdempotencyKey: &key}, generated.ReserveRequest{UserId: userID(user)})
	if err != nil {
		h.t.Fatalf("reserve %s with key %q: %v", user, key, err)
	}
	return answerOf(resp.HTTPResponse, resp.Body)
}

// wantToken fails unless a's body carries a shopper token, which it returns.
func wantToken(t *testing.T, a answer) string {
	t.Helper()
	var b struct {
		Token string `json:"shopper_token"`
	}
	if err := json.Unmarshal(a.body, &b); err != nil || b.Token == "" {
		t.Fatalf("no shopper_token in %s (%v)", a, err)
	}
	return b.Token
}

func (h *harness) keyedConfirm(id, key string) answer {
	h.t.Helper()
	resp, err := h.client.ConfirmReservationWithResponse(h.ctx(), id, &generated.ConfirmReservationParams{IdempotencyKey: &key})
	if err != nil {
		h.t.Fatalf("confirm %s with key %q: %v", id, key, err)
	}
	return answerOf(resp.HTTPResponse, resp.Body)
}

func (h *harness) keyedCancel(id, key string, editors ...generated.RequestEditorFn) answer {
	h.t.Helper()
	resp, err := h.client.CancelReservationWithResponse(h.ctx(), id, &generated.CancelReservationParams{IdempotencyKey: &key}, editors...)
	if err != nil {
		h.t.Fatalf("cancel %s with key %q: %v", id, key, err)
	}
	return answerOf(resp.HTTPResponse, resp.Body)
}

func (h *harness) keyedInitialize(total int64, key string) answer {
	h.t.Helper()
	resp, err := h.client.InitializeWithResponse(h.ctx(), &generated.InitializeParams{IdempotencyKey: &key}, generated.InitializeRequest{TotalInventory: total}, asAdmin)
	if err != nil {
		h.t.Fatalf("initialize %d with key %q: %v", total, key, err)
	}
	return answerOf(resp.HTTPResponse, resp.Body)
}

// wantFirst fails unless a is a first answer, with status want and without
// Idempotency-Replayed.
func wantFirst(t *testing.T, a answer, want int) {
	t.Helper()
	wantStatus(t, a.status, want, a.body)
	if v, ok := a.header[replayedHeader]; ok {
		t.Fatalf("a first answer has %s: %q: %s", replayedHeader, v, a)
	}
}

// wantReplay fails unless replay is first sent again: the same status, the
// same body bytes, the same Location and Retry-After, and
// Idempotency-Replayed: true, which first does not have.
func wantReplay(t *testing.T, first, replay answer) {
	t.Helper()
	if v, ok := first.header[replayedHeader]; ok {
		t.Fatalf("the first answer has %s: %q", replayedHeader, v)
	}
	if got := replay.header.Values(replayedHeader); len(got) != 1 || got[0] != "true" {
		t.Fatalf("the replay's %s is %q, want exactly \"true\": %s", replayedHeader, got, replay)
	}
	if replay.status != first.status || !bytes.Equal(replay.body, first.body) {
		t.Fatalf("the replay differs from the first answer:\nfirst  %s\nreplay %s", first, replay)
	}
	for _, hd := range []string{"Location", "Retry-After", "Content-Type"} {
		if f, r := first.header.Values(hd), replay.header.Values(hd); strings.Join(f, "\n") != strings.Join(r, "\n") {
			t.Fatalf("%s: first %q, replay %q", hd, f, r)
		}
	}
}

func TestIdempotentReserveReplays(t *testing.T) {
	h := newHarness(t)

	// Not initialized: the answer the sale decided is kept, so the retry
	// after the sale opens is still the first answer.
	notYet := h.keyedReserve("early", "k-early")
	wantProblem(t, notYet.status, 409, notYet.body, "/problems/not-initialized")
	h.initialize(1)
	wantReplay(t, notYet, h.keyedReserve("early", "k-early"))
	if st := h.status(); st.Held != 0 || st.WaitlistSize != 0 {
		t.Fatalf("the replay of a not-initialized answer changed the sale: %+v", st)
	}

	t.Run("201", func(t *testing.T) {
		first := h.keyedReserve("alice", "k-alice")
		wantFirst(t, first, 201)
		if first.header.Get("Location") == "" {
			t.Fatal("no Location")
		}
		wantToken(t, first)
		// The replay is the first answer byte for byte: the same token.
		wantReplay(t, first, h.retriedClaim("alice", "k-alice"))
		// An RFC 8941 string is the same key: the quotes are not part of it.
		resp, body := h.rawBare("POST", "/reserve", "application/json", strings.NewReader(`{"user_id":"alice"}`), "Idempotency-Key", `"k-alice"`)
		wantReplay(t, first, answerOf(resp, body))
		if st := h.status(); st.Held != 1 || st.Available != 0 {
			t.Fatalf("the retries changed the sale: %+v", st)
		}
	})
	t.Run("202", func(t *testing.T) {
		first := h.keyedReserve("bob", `"k-bob"`) // quoted first, bare after
		wantFirst(t, first, 202)
		wantToken(t, first)
		if r := h.reserve("carol"); testkit.Waitlisted(r) == nil || testkit.Waitlisted(r).WaitlistPosition != 2 {
			t.Fatalf("carol: %d %s", r.StatusCode(), r.Body)
		}
		wantReplay(t, first, h.retriedClaim("bob", "k-bob"))
		if st := h.status(); st.WaitlistSize != 2 {
			t.Fatalf("the retry changed the line: %+v", st)
		}
	})
	t.Run("409", func(t *testing.T) {
		first := h.keyedReserve("alice", "k-alice-again")
		p := wantProblem(t, first.status, 409, first.body, "/problems/already-reserved")
		// The hold goes; a new attempt would now join the line, but the
		// retry of this one is answered as it was.
		if _, err := h.client.CancelReservationWithResponse(h.ctx(), *p.ReservationId, nil); err != nil {
			t.Fatal(err)
		}
		before := h.status()
		wantReplay(t, first, h.keyedReserve("alice", "k-alice-again"))
		if after := h.status(); after != before {
			t.Fatalf("the retry changed the sale: %+v, then %+v", before, after)
		}
	})
}

func TestIdempotentChangesReplay(t *testing.T) {
	h := newHarness(t)
	first := h.keyedInitialize(3, "init-1")
	wantFirst(t, first, 200)
	h.hold("x")
	wantReplay(t, first, h.keyedInitialize(3, "init-1")) // the status as it was then
	if st := h.status(); st.Held != 1 || st.TotalInventory != 3 {
		t.Fatalf("the retried initialize changed the sale: %+v", st)
	}

	hold := h.hold("dave")
	confirmed := h.keyedConfirm(hold.ReservationId, "c-1")
	wantFirst(t, confirmed, 200)
	wantReplay(t, confirmed, h.keyedConfirm(hold.ReservationId, "c-1"))

	other := h.hold("erin")
	cancelled := h.keyedCancel(other.ReservationId, "x-1")
	wantFirst(t, cancelled, 200)
	wantReplay(t, cancelled, h.keyedCancel(other.ReservationId, "x-1"))

	conflict := h.keyedConfirm(other.ReservationId, "c-2")
	wantProblem(t, conflict.status, 409, conflict.body, "/problems/hold-cancelled")
	wantReplay(t, conflict, h.keyedConfirm(other.ReservationId, "c-2"))

	const unknown = "AAAAAAAAAAAAAAAAAAAAAA"
	missing := h.keyedCancel(unknown, "x-2", h.as("erin"))
	wantProblem(t, missing.status, 404, missing.body, "/problems/reservation-not-found")
	wantReplay(t, missing, h.keyedCancel(unknown, "x-2", h.as("erin")))

	if st := h.status(); st.Confirmed != 1 || st.Held != 1 || st.Available != 1 {
		t.Fatalf("books after the replays: %+v", st)
	}
}

func TestIdempotencyKeyMismatch(t *testing.T) {
	h := newHarness(t)
	h.initialize(2)
	hold := h.hold("alice")

	t.Run("confirm then cancel", func(t *testing.T) {
		confirmed := h.keyedConfirm(hold.ReservationId, "k")
		wantFirst(t, confirmed, 200)
		got := h.keyedCancel(hold.ReservationId, "k")
		p := wantProblem(t, got.status, 422, got.body, "/problems/idempotency-key-mismatch")
		if !strings.Contains(*p.Detail, "confirm "+hold.ReservationId) {
			t.Errorf("the detail does not say what the key was first used for: %s", *p.Detail)
		}
		if _, ok := got.header[replayedHeader]; ok {
			t.Errorf("a mismatch is not a replay: %v", got.header)
		}
		r, err := h.client.GetReservationWithResponse(h.ctx(), hold.ReservationId)
		if err != nil || r.JSON200 == nil || r.JSON200.Status != generated.ReservationStatusConfirmed {
			t.Fatalf("the reservation after the mismatch: %v %s", err, r.Body)
		}
		if st := h.status(); st.Confirmed != 1 || st.Held != 0 {
			t.Fatalf("the mismatch changed the sale: %+v", st)
		}
		// Nothing was kept for the mismatch: the confirm still replays.
		wantReplay(t, confirmed, h.keyedConfirm(hold.ReservationId, "k"))
	})
	t.Run("a new user's first reserve, then with their token", func(t *testing.T) {
		claim := h.keyedReserve("bob", "b")
		wantFirst(t, claim, 201)
		wantToken(t, claim)
		before := h.status()
		// A device that got the answer sends the token with the retry: a
		// proven reserve is another request than the claim was.
		got := h.keyedReserve("bob", "b")
		p := wantProblem(t, got.status, 422, got.body, "/problems/idempotency-key-mismatch")
		if !strings.Contains(*p.Detail, "reserve bob") {
			t.Errorf("the detail does not say what the key was first used for: %s", *p.Detail)
		}
		if after := h.status(); after != before {
			t.Fatalf("the mismatch changed the sale: %+v, then %+v", before, after)
		}
		// Nothing was kept for it: the claim's retry still replays.
		wantReplay(t, claim, h.retriedClaim("bob", "b"))
	})
	t.Run("initialize with another total", func(t *testing.T) {
		first := h.keyedInitialize(5, "init")
		wantFirst(t, first, 200)
		got := h.keyedInitialize(6, "init")
		p := wantProblem(t, got.status, 422, got.body, "/problems/idempotency-key-mismatch")
		if !strings.Contains(*p.Detail, "initialize 5") {
			t.Errorf("the detail does not say what the key was first used for: %s", *p.Detail)
		}
		if st := h.status(); st.TotalInventory != 5 {
			t.Fatalf("the mismatched initialize changed the total: %+v", st)
		}
	})
}

// gatedClock is a fake clock whose next Now, once armed, waits until
// released. The store reads its clock inside the change, after it has
// marked the key in flight: a request stopped there is one whose key is in
// use, for as long as the test wants.
type gatedClock struct {
	*clocktest.Clock
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func (c *gatedClock) arm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed, c.entered, c.release = true, make(chan struct{}), make(chan struct{})
}

func (c *gatedClock) Now() time.Time {
	c.mu.Lock()
	armed := c.armed
	c.armed = false
	entered, release := c.entered, c.release
	c.mu.Unlock()
	if armed {
		close(entered)
		<-release
	}
	return c.Clock.Now()
}

func TestIdempotencyKeyInFlight(t *testing.T) {
	clock := &gatedClock{Clock: clocktest.New(epoch)}
	h := newHarness(t, func(o *testkit.Options) { o.Clock, o.Sale.Clock = clock.Clock, clock })
	h.initialize(3)

	clock.arm()
	var once sync.Once
	release := func() { once.Do(func() { close(clock.release) }) }
	t.Cleanup(release)
	firstDone := make(chan answer, 1)
	go func() {
		key := "slow"
		resp, err := h.client.ReserveWithResponse(context.Background(), &generated.ReserveParams{IdempotencyKey: &key}, generated.ReserveRequest{UserId: userID("alice")})
		if err != nil {
			t.Errorf("the first request: %v", err)
			firstDone <- answer{}
			return
		}
		firstDone <- answerOf(resp.HTTPResponse, resp.Body)
	}()
	select {
	case <-clock.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request never reached the store")
	}

	busy := h.keyedReserve("alice", "slow")
	p := wantProblem(t, busy.status, 409, busy.body, "/problems/idempotency-key-in-use")
	if !strings.Contains(*p.Detail, "still running") {
		t.Errorf("detail %q", *p.Detail)
	}
	if got := busy.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	if _, ok := busy.header[replayedHeader]; ok {
		t.Errorf("an in-use answer is not a replay: %v", busy.header)
	}

	release()
	first := <-firstDone
	wantFirst(t, first, 201)
	// The in-use answer was not kept: the retry now gets the first answer.
	wantReplay(t, first, h.retriedClaim("alice", "slow"))
	if st := h.status(); st.Held != 1 {
		t.Fatalf("%d holds, want 1", st.Held)
	}
}

func TestIdempotencyKeyScopes(t *testing.T) {
	h := newHarness(t)
	h.initialize(5)
	a, b := h.keyedReserve("alice", "same"), h.keyedReserve("bob", "same")
	wantFirst(t, a, 201)
	wantFirst(t, b, 201)
	if bytes.Equal(a.body, b.body) {
		t.Fatal("two users' answers under one key are the same answer")
	}
	if st := h.status(); st.Held != 2 {
		t.Fatalf("%d holds, want one per user", st.Held)
	}
	// Confirm and cancel keys are the reservation's: one key on two
	// reservations runs twice, and the same key on a reserve is another
	// scope again.
	ha, hb := h.hold("carol"), h.hold("dave")
	wantFirst(t, h.keyedConfirm(ha.ReservationId, "same"), 200)
	wantFirst(t, h.keyedConfirm(hb.ReservationId, "same"), 200)
	if st := h.status(); st.Confirmed != 2 {
		t.Fatalf("%d confirmed, want 2", st.Confirmed)
	}
	wantFirst(t, h.keyedInitialize(6, "same"), 200)
}

func TestIdempotencyKeyExpiry(t *testing.T) {
	const keyTTL = time.Minute
	h := newHarness(t, func(o *testkit.Options) { o.Sale.KeyTTL = keyTTL })
	clock := h.clock
	h.initialize(2)

	first := h.keyedReserve("alice", "k")
	wantFirst(t, first, 201)
	clock.Advance(keyTTL - sale.Precision)
	wantReplay(t, first, h.retriedClaim("alice", "k"))

	var hold generated.Hold
	if err := json.Unmarshal(first.body, &hold); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.CancelReservationWithResponse(h.ctx(), hold.ReservationId, nil); err != nil {
		t.Fatal(err)
	}

	clock.Advance(sale.Precision) // the key's TTL has passed: forgotten
	// alice is known now, so she reserves with her token.
	again := h.keyedReserve("alice", "k")
	wantFirst(t, again, 201)
	if bytes.Equal(again.body, first.body) {
		t.Fatalf("the retry after the key's TTL was answered from the key: %s", again)
	}
	if st := h.status(); st.Held != 1 {
		t.Fatalf("%d holds, want the new one", st.Held)
	}
}

func TestIdempotencyBadKeys(t *testing.T) {
	h := newHarness(t)
	h.initialize(5)
	hold := h.hold("holder")
	before := h.status()

	bad := []string{
		strings.Repeat("k", sale.MaxKeyLength+1),
		`"` + strings.Repeat("k", sale.MaxKeyLength+1) + `"`,
		"a b", "a,b", "a;b", `a\b`, "ключ", "a\tb",
		`"abc`, `abc"`, `"`, `""`, `"a"b"`,
		"",
	}
	for _, k := range bad {
		resp, body := h.raw("POST", "/reserve", "application/json", strings.NewReader(`{"user_id":"mallory"}`), "Idempotency-Key", k)
		p := wantProblem(t, resp.StatusCode, 400, body, "/problems/invalid-request")
		if !strings.Contains(*p.Detail, "Idempotency-Key") {
			t.Errorf("key %q: the detail does not name the header: %s", k, *p.Detail)
		}
	}
	for _, path := range []string{"/reservations/" + hold.ReservationId + "/confirm", "/reservations/" + hold.ReservationId + "/cancel"} {
		resp, body := h.raw("POST", path, "", nil, "Idempotency-Key", "a b")
		wantProblem(t, resp.StatusCode, 400, body, "/problems/invalid-request")
	}
	resp, body := h.raw("POST", "/initialize", "application/json", strings.NewReader(`{"total_inventory":9}`),
		"Authorization", "Bearer "+adminToken, "Idempotency-Key", strings.Repeat("k", sale.MaxKeyLength+1))
	wantProblem(t, resp.StatusCode, 400, body, "/problems/invalid-request")

	// The header twice, with two keys: which would be the key?
	req, err := http.NewRequestWithContext(h.ctx(), "POST", h.srv.URL+"/reserve", strings.NewReader(`{"user_id":"mallory"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("Idempotency-Key", "one")
	req.Header.Add("Idempotency-Key", "two")
	twice, err := h.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	twiceBody, _ := io.ReadAll(twice.Body)
	twice.Body.Close()
	wantProblem(t, twice.StatusCode, 400, twiceBody, "/problems/invalid-request")

	if after := h.status(); after != before {
		t.Fatalf("a refused key changed the sale: %+v, then %+v", before, after)
	}

	// The longest keys, bare and quoted, are keys.
	longest := strings.Repeat("k", sale.MaxKeyLength)
	wantFirst(t, h.keyedReserve("max-bare", longest), 201)
	wantFirst(t, h.keyedReserve("max-quoted", `"`+longest+`"`), 201)
	wantFirst(t, h.keyedReserve("charset", "Az09-_.:+/="), 201)
}

// TestIdempotencyKeyPatternLength ties the document's Idempotency-Key to
// sale.MaxKeyLength: 64 characters are a key, 65 are not, bare or quoted.
func TestIdempotencyKeyPatternLength(t *testing.T) {
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	param := spec.Components.Parameters["IdempotencyKey"]
	if param == nil || param.Value.Name != "Idempotency-Key" || param.Value.In != "header" || param.Value.Required {
		t.Fatalf("components.parameters.IdempotencyKey: %+v", param)
	}
	schema := param.Value.Schema.Value
	if schema.MaxLength == nil || *schema.MaxLength != sale.MaxKeyLength+2 {
		t.Errorf("maxLength %v, want sale.MaxKeyLength (%d) and two quotes", schema.MaxLength, sale.MaxKeyLength)
	}
	for _, c := range []struct {
		key string
		ok  bool
	}{
		{strings.Repeat("a", sale.MaxKeyLength), true},
		{`"` + strings.Repeat("a", sale.MaxKeyLength) + `"`, true},
		{strings.Repeat("a", sale.MaxKeyLength+1), false},
		{`"` + strings.Repeat("a", sale.MaxKeyLength+1) + `"`, false},
		{"a", true},
		{`"a"`, true},
		{"", false},
	} {
		if err := schema.VisitJSON(c.key); (err == nil) != c.ok {
			t.Errorf("%d characters (%.3s...): accepted %t, want %t (%v)", len(c.key), c.key, err == nil, c.ok, err)
		}
	}
}

// outageOnce is a store whose first keyed Reserve fails as an outage does,
// with sale.ErrUnavailable: nothing decided, so nothing kept.
type outageOnce struct {
	sale.Store
	failed atomic.Bool
}

func (o *outageOnce) Do(ctx context.Context, c sale.Call, key string) (sale.Answer, error) {
	if c.Op == sale.OpReserve && key != "" && o.failed.CompareAndSwap(false, true) {
		return sale.Answer{}, fmt.Errorf("commit: the disk is full: %w", sale.ErrUnavailable)
	}
	return o.Store.Do(ctx, c, key)
}

func TestIdempotencyUnavailableIsNotKept(t *testing.T) {
	h := newHarness(t, wrapped(func(s sale.Store) sale.Store { return &outageOnce{Store: s} }))
	h.initialize(1)
	down := h.keyedReserve("alice", "k")
	wantProblem(t, down.status, 503, down.body, "/problems/unavailable")
	if _, ok := down.header[replayedHeader]; ok {
		t.Fatalf("a 503 is not a replay: %v", down.header)
	}
	first := h.keyedReserve("alice", "k") // runs: the 503 was not kept
	wantFirst(t, first, 201)
	wantToken(t, first)
	wantReplay(t, first, h.retriedClaim("alice", "k"))
}

// TestIdempotencyConcurrentSameKey: one new user's 50 retries at once, under
// one key, make one hold. Every answer is that hold (first or replayed), the
// same token in each, or the in-use problem. None has the token yet when it
// is sent, so each is sent as the first was, with none.
func TestIdempotencyConcurrentSameKey(t *testing.T) {
	h := newHarness(t)
	h.initialize(10)
	const n = 50
	answers := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			key := "crowd-key"
			resp, err := h.bare.ReserveWithResponse(context.Background(), &generated.ReserveParams{IdempotencyKey: &key}, generated.ReserveRequest{UserId: userID("crowd")})
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			answers[i] = answerOf(resp.HTTPResponse, resp.Body)
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	var firsts, replays, inUse int
	var body []byte
	for _, a := range answers {
		switch a.status {
		case 201:
			if body == nil {
				body = a.body
				wantToken(t, a)
			}
			if !bytes.Equal(a.body, body) {
				t.Errorf("two 201s differ:\n%s\n%s", body, a.body)
			}
			if a.header.Get(replayedHeader) == "true" {
				replays++
			} else {
				firsts++
			}
		case 409:
			wantProblem(t, a.status, 409, a.body, "/problems/idempotency-key-in-use")
			inUse++
		default:
			t.Errorf("answer %s, want 201 or 409 in use", a)
		}
	}
	if firsts != 1 {
		t.Errorf("%d answers ran the reserve, want exactly 1 (%d replays, %d in use)", firsts, replays, inUse)
	}
	if st := h.status(); st.Held != 1 {
		t.Fatalf("%d holds, want 1", st.Held)
	}
	t.Logf("%d first, %d replayed, %d in use", firsts, replays, inUse)
}
