package load

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// refereeAt is a referee whose clock stands at *now, with a sale of
// inventory units started.
func refereeAt(t *testing.T, now *time.Time, inventory int64) *Referee {
	t.Helper()
	r := NewReferee(testToken)
	r.clock = func() time.Time { return *now }
	if code, body := call(t, r, http.MethodPost, "/initialize", fmt.Sprintf(`{"total_inventory":%d}`, inventory), testToken); code != http.StatusOK {
		t.Fatalf("initialize: %d %s", code, body)
	}
	return r
}

// call sends one request to h with bearer as its token ("" for none) and
// returns the status and body.
func call(t *testing.T, h http.Handler, method, path, body, bearer string) (int, string) {
	t.Helper()
	w := callRecorded(h, method, path, body, bearer)
	return w.Code, w.Body.String()
}

func callRecorded(h http.Handler, method, path, body, bearer string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// refereeReply is the fields of a 201, a 202 or a problem that the tests read.
type refereeReply struct {
	code          int
	location      string
	contentType   string
	authenticate  string
	ReservationID string  `json:"reservation_id"`
	Position      int64   `json:"waitlist_position"`
	Message       string  `json:"message"`
	Token         *string `json:"shopper_token"`
	Type          string  `json:"type"`
	ResStatus     string  `json:"reservation_status"`
}

func reserveAs(t *testing.T, h http.Handler, user, bearer string) refereeReply {
	t.Helper()
	w := callRecorded(h, http.MethodPost, "/reserve", `{"user_id":"`+user+`"}`, bearer)
	rep := refereeReply{code: w.Code, location: w.Header().Get("Location"), contentType: w.Header().Get("Content-Type"), authenticate: w.Header().Get("WWW-Authenticate")}
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatalf("reserve %s: %d %q: %v", user, w.Code, w.Body, err)
	}
	return rep
}

func refereeStatus(t *testing.T, h http.Handler) generated.Status {
	t.Helper()
	code, body := call(t, h, http.MethodGet, "/status", "", "")
	var st generated.Status
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil {
		t.Fatalf("status: %d %s %v", code, body, err)
	}
	return st
}

// checkAddsUp fails t unless the status is of a sale of total units with
// held units held and waiting users in line, and adds up.
func checkAddsUp(t *testing.T, st generated.Status, total, held, waiting int64) {
	t.Helper()
	if !st.Initialized || st.TotalInventory != total || st.Held != held || st.WaitlistSize != waiting ||
		st.Confirmed != 0 || st.Available != total-held {
		t.Errorf("status %+v, want %d units, %d held, %d available, %d waiting", st, total, held, total-held, waiting)
	}
}

// Many users at once: exactly the stock is held, everyone else waits at a
// place of their own, and the status says so.
func TestRefereeSellsAtMostTheStock(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := refereeAt(t, &now, 10)
	const users = 200
	replies := make([]refereeReply, users)
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() { replies[i] = reserveAs(t, r, fmt.Sprintf("u%d", i), "") })
	}
	wg.Wait()
	held, places, ids := 0, map[int64]bool{}, map[string]bool{}
	for i, rep := range replies {
		switch {
		case rep.code == http.StatusCreated:
			held++
			ids[rep.ReservationID] = true
			if rep.location != "/reservations/"+rep.ReservationID || len(rep.ReservationID) != 22 {
				t.Errorf("u%d: Location %q for reservation %q", i, rep.location, rep.ReservationID)
			}
		case rep.code == http.StatusAccepted:
			places[rep.Position] = true
			if rep.location != fmt.Sprintf("/users/u%d", i) || rep.Message != "Added to waitlist" {
				t.Errorf("u%d: 202 with Location %q, message %q", i, rep.location, rep.Message)
			}
		default:
			t.Fatalf("u%d: %d %+v", i, rep.code, rep)
		}
		if rep.Token == nil || *rep.Token == "" || rep.contentType != "application/json" {
			t.Errorf("u%d: a new user's answer with token %v, Content-Type %q", i, rep.Token, rep.contentType)
		}
	}
	if held != 10 || len(ids) != 10 {
		t.Errorf("%d holds, %d distinct ids, want 10 of 10 units", held, len(ids))
	}
	for p := int64(1); p <= users-10; p++ {
		if !places[p] {
			t.Errorf("no user has place %d: places must be 1..%d, each once", p, users-10)
		}
	}
	checkAddsUp(t, refereeStatus(t, r), 10, 10, users-10)
}

// The line is first come, first served, and a user already in it keeps
// their place rather than taking a second.
func TestRefereeLineIsFIFO(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := refereeAt(t, &now, 1)
	reserveAs(t, r, "holder", "")
	tokens := map[string]string{}
	for i, u := range []string{"a", "b", "c"} {
		rep := reserveAs(t, r, u, "")
		if rep.code != http.StatusAccepted || rep.Position != int64(i+1) {
			t.Fatalf("%s: %d at place %d, want 202 at %d", u, rep.code, rep.Position, i+1)
		}
		tokens[u] = *rep.Token
	}
	again := reserveAs(t, r, "b", tokens["b"])
	if again.code != http.StatusAccepted || again.Position != 2 || again.Message != "Already in waitlist" || again.Token != nil {
		t.Errorf("b again: %+v, want 202 at place 2, \"Already in waitlist\", no new token", again)
	}
	checkAddsUp(t, refereeStatus(t, r), 1, 1, 3)
}

// A user holding a unit gets no second one: a repeat reserve is the real
// server's 409 already-reserved, naming the hold.
func TestRefereeOneUnitPerUser(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := refereeAt(t, &now, 5)
	first := reserveAs(t, r, "alice", "")
	if first.code != http.StatusCreated {
		t.Fatalf("alice: %+v", first)
	}
	for _, bearer := range []string{*first.Token, testToken} {
		again := reserveAs(t, r, "alice", bearer)
		if again.code != http.StatusConflict || again.Type != string(generated.ProblemTypeAlreadyReserved) ||
			again.ReservationID != first.ReservationID || again.ResStatus != "held" || again.contentType != "application/problem+json" {
			t.Errorf("alice again: %+v, want 409 already-reserved naming %s", again, first.ReservationID)
		}
	}
	checkAddsUp(t, refereeStatus(t, r), 5, 1, 0)
}

// Nobody acts for a user the sale knows without their token: no token is
// 401 token-required, a bad one 401 unauthorized, another user's 403; the
// admin's is accepted. None of the refusals changes the books.
func TestRefereeTokenRequiredForAKnownUser(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := refereeAt(t, &now, 1)
	alice := reserveAs(t, r, "alice", "")
	bob := reserveAs(t, r, "bob", "")
	for _, tc := range []struct {
		bearer, typ string
		code        int
	}{
		{"", string(generated.ProblemTypeTokenRequired), http.StatusUnauthorized},
		{*alice.Token + "x", string(generated.ProblemTypeUnauthorized), http.StatusUnauthorized},
		{NewReferee(testToken).mustIssue(t, "bob"), string(generated.ProblemTypeUnauthorized), http.StatusUnauthorized}, // another referee's key
		{*alice.Token, string(generated.ProblemTypeForbidden), http.StatusForbidden},
	} {
		rep := reserveAs(t, r, "bob", tc.bearer)
		if rep.code != tc.code || rep.Type != tc.typ {
			t.Errorf("bob with token %.12q: %d %s, want %d %s", tc.bearer, rep.code, rep.Type, tc.code, tc.typ)
		}
		if tc.code == http.StatusUnauthorized && rep.authenticate != `Bearer realm="flashsale"` {
			t.Errorf("bob with token %.12q: a 401 without its challenge", tc.bearer)
		}
	}
	for _, bearer := range []string{*bob.Token, testToken} {
		if rep := reserveAs(t, r, "bob", bearer); rep.code != http.StatusAccepted || rep.Position != 1 {
			t.Errorf("bob with a token that may act for him: %+v, want his place, 1", rep)
		}
	}
	checkAddsUp(t, refereeStatus(t, r), 1, 1, 1)
}

func (r *Referee) mustIssue(t *testing.T, user string) string {
	t.Helper()
	tok, err := r.shoppers.issue(user, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A hold expires holdTTL after it was made, found at the next request; its
// unit goes to the head of the line, who then holds it for a full TTL, and
// the next in line moves up. With nobody waiting it goes back to stock.
func TestRefereeExpiryPromotesTheHead(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := refereeAt(t, &now, 2)
	tokens := map[string]string{}
	for _, u := range []string{"h1", "h2", "w1", "w2", "w3"} {
		tokens[u] = *reserveAs(t, r, u, "").Token
		now = now.Add(time.Second)
	}
	// h1's hold ends at start+TTL, h2's a second later.
	now = time.Unix(1_800_000_000, 0).Add(holdTTL - time.Nanosecond)
	checkAddsUp(t, refereeStatus(t, r), 2, 2, 3)
	now = now.Add(time.Nanosecond)
	checkAddsUp(t, refereeStatus(t, r), 2, 2, 2)

	w1 := reserveAs(t, r, "w1", tokens["w1"])
	if w1.code != http.StatusConflict || w1.Type != string(generated.ProblemTypeAlreadyReserved) {
		t.Fatalf("w1 after h1's hold expired: %+v, want 409: w1 holds it", w1)
	}
	if w2 := reserveAs(t, r, "w2", tokens["w2"]); w2.code != http.StatusAccepted || w2.Position != 1 {
		t.Errorf("w2: %+v, want 202 at place 1, the head now", w2)
	}
	// h1 is known still: reserving again takes their token, and puts
	// them at the end of the line.
	if h1 := reserveAs(t, r, "h1", ""); h1.code != http.StatusUnauthorized {
		t.Errorf("h1 again without a token: %+v, want 401", h1)
	}
	if h1 := reserveAs(t, r, "h1", tokens["h1"]); h1.code != http.StatusAccepted || h1.Position != 3 || h1.Token != nil {
		t.Errorf("h1 again with the token: %+v, want 202 at place 3, no new token", h1)
	}
	checkAddsUp(t, refereeStatus(t, r), 2, 2, 3)

	// Long after, w1's and h2's holds have expired, found at once: w2 and
	// w3 hold from now, h1 still waits. A TTL on, theirs expire: h1 holds
	// one unit and the other goes back to stock; a TTL more, both are.
	now = now.Add(10 * holdTTL)
	checkAddsUp(t, refereeStatus(t, r), 2, 2, 1)
	now = now.Add(holdTTL)
	checkAddsUp(t, refereeStatus(t, r), 2, 1, 0)
	now = now.Add(holdTTL)
	checkAddsUp(t, refereeStatus(t, r), 2, 0, 0)
}

// A hold's answer says when it expires: holdTTL after it was made.
func TestRefereeHoldExpiresAfterTheTTL(t *testing.T) {
	now := time.Unix(1_800_000_000, 0).UTC()
	r := refereeAt(t, &now, 1)
	w := callRecorded(r, http.MethodPost, "/reserve", `{"user_id":"alice"}`, "")
	var h generated.Hold
	if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil || w.Code != http.StatusCreated {
		t.Fatalf("reserve: %d %s %v", w.Code, w.Body, err)
	}
	if !h.ExpiresAt.Equal(now.Add(holdTTL)) || h.Status != generated.HoldStatusHeld || h.UserId != "alice" {
		t.Errorf("hold %+v, want alice's, held until %s", h, now.Add(holdTTL))
	}
	sub, err := r.shoppers.verify(*h.ShopperToken)
	if err != nil || sub != "alice" {
		t.Errorf("the token names %q (%v), want alice", sub, err)
	}
}

// Before a sale, a reserve is 409 not-initialized and the status says
// uninitialized; /initialize takes the admin token only and starts afresh.
func TestRefereeInitializeAndRefusals(t *testing.T) {
	r := NewReferee(testToken)
	if rep := reserveAs(t, r, "alice", ""); rep.code != http.StatusConflict || rep.Type != string(generated.ProblemTypeNotInitialized) {
		t.Errorf("reserve before a sale: %+v", rep)
	}
	if st := refereeStatus(t, r); st.Initialized {
		t.Errorf("status before a sale: %+v", st)
	}
	if code, _ := call(t, r, http.MethodPost, "/initialize", `{"total_inventory":3}`, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("initialize with a wrong token: %d, want 401", code)
	}
	for _, body := range []string{`{"total_inventory":-1}`, `nope`} {
		if code, _ := call(t, r, http.MethodPost, "/initialize", body, testToken); code != http.StatusBadRequest {
			t.Errorf("initialize %s: %d, want 400", body, code)
		}
	}
	for _, body := range []string{`{}`, `{"user_id":"..."}`, `{"user_id":"a b"}`, `{"user_id":"` + strings.Repeat("x", 129) + `"}`, `[`} {
		if code, _ := call(t, r, http.MethodPost, "/reserve", body, ""); code != http.StatusBadRequest {
			t.Errorf("reserve %.40s: %d, want 400", body, code)
		}
	}
	now := time.Unix(1_800_000_000, 0)
	r = refereeAt(t, &now, 3)
	reserveAs(t, r, "alice", "")
	if code, _ := call(t, r, http.MethodPost, "/initialize", `{"total_inventory":3}`, testToken); code != http.StatusOK {
		t.Fatalf("initialize again: %d", code)
	}
	if rep := reserveAs(t, r, "alice", ""); rep.code != http.StatusCreated {
		t.Errorf("alice in the new sale: %+v, want a new user's hold", rep)
	}
	if code, body := call(t, r, http.MethodGet, "/healthz", "", ""); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Errorf("healthz: %d %s", code, body)
	}
	if code, _ := call(t, r, http.MethodGet, "/nowhere", "", ""); code != http.StatusNotFound {
		t.Errorf("an unknown route: %d, want 404", code)
	}
}
