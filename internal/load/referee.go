package load

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// Referee is the correct hand-written server for POST /reserve that issue
// 28 measures the real server against: what a competent engineer would
// write with no spec, no validation library, no metrics, no logging and no
// rate limit. One sync.Mutex over a map of users, the line as a FIFO slice
// and the holds in expiry order (refereeSale); encoding/json and the same
// JSON shapes as the real server; one unit per user; holds that expire
// after holdTTL, their unit going to the line's head; and each new user's
// shopper token signed as the baseline signs it. Unlike the Baseline it
// keeps real books, so it pays what per-user state costs, and it answers
// every case as the real server does:
//
//   - a new user: 201 Hold or 202 Waitlisted, with their token;
//   - a known user without their token (or the admin's): 401 token-required;
//   - a known user with it: already holding, 409 already-reserved; already
//     waiting, 202 with their place; their hold expired, reserved again;
//   - a token that is not valid: 401 unauthorized; another user's: 403.
type Referee struct {
	tokenHash    [32]byte
	maxInventory int64
	shoppers     baselineTokens
	clock        func() time.Time // time.Now; a test's clock in tests

	mu   sync.Mutex
	sale *refereeSale // nil until POST /initialize
}

// NewReferee returns the referee; token is the admin bearer token. It
// panics if the embedded API document does not give the largest
// inventory, as NewBaseline does.
func NewReferee(token string) *Referee {
	most, err := maxInventory()
	if err != nil {
		panic("load: " + err.Error())
	}
	return &Referee{tokenHash: sha256.Sum256([]byte(token)), maxInventory: most, shoppers: newBaselineTokens(), clock: time.Now}
}

func (r *Referee) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.Method == http.MethodPost && req.URL.Path == "/reserve":
		r.reserve(w, req)
	case req.Method == http.MethodGet && req.URL.Path == "/status":
		r.status(w)
	case req.Method == http.MethodPost && req.URL.Path == "/initialize":
		r.initialize(w, req)
	case req.Method == http.MethodGet && req.URL.Path == "/healthz":
		writeJSON(w, http.StatusOK, generated.Health{Status: generated.HealthStatusOk})
	default:
		writeRefereeProblem(w, problemOf(http.StatusNotFound, generated.ProblemTypeNotFound, "Not found", "no such route"))
	}
}

// refereeCaller is who a request proves to be: nobody, the admin, or the
// shopper a token names.
type refereeCaller struct {
	admin bool
	user  string
}

func (c refereeCaller) anonymous() bool { return !c.admin && c.user == "" }

// now is the time the books read: UTC to the microsecond, as every time in
// the API is, so that a hold's expires_at is as long in JSON as the real
// server's.
func (r *Referee) now() time.Time { return r.clock().UTC().Truncate(time.Microsecond) }

func (r *Referee) reserve(w http.ResponseWriter, req *http.Request) {
	var body generated.ReserveRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxBody)).Decode(&body); err != nil {
		writeRefereeProblem(w, problemOf(http.StatusBadRequest, generated.ProblemTypeInvalidRequest, "Invalid request", "body must be {\"user_id\": \"...\"}"))
		return
	}
	who, err := r.caller(req)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="flashsale"`)
		writeRefereeProblem(w, problemOf(http.StatusUnauthorized, generated.ProblemTypeUnauthorized, "Unauthorized", err.Error()))
		return
	}
	user := who.user
	if body.UserId != nil {
		user = *body.UserId
	}
	if !validUserID(user) {
		writeRefereeProblem(w, problemOf(http.StatusBadRequest, generated.ProblemTypeInvalidRequest, "Invalid request",
			"user_id must be 1-128 characters of letters, digits and ._:@-, not all dots"))
		return
	}
	if !who.anonymous() && !who.admin && who.user != user {
		writeRefereeProblem(w, problemOf(http.StatusForbidden, generated.ProblemTypeForbidden, "Forbidden",
			fmt.Sprintf("this token is %s's; a call about %s must be made with %s's", who.user, user, user)))
		return
	}
	// Signed before the lock, so that the mutex serializes the books
	// alone; wasted only on a claim refused below.
	var token *string
	if who.anonymous() {
		t, err := r.shoppers.issue(user, r.clock())
		if err != nil {
			writeRefereeProblem(w, problemOf(http.StatusInternalServerError, generated.ProblemTypeInternal, "Internal server error", err.Error()))
			return
		}
		token = &t
	}

	r.mu.Lock()
	s := r.sale
	var ans refereeAnswer
	if s != nil {
		ans = s.reserve(r.now(), user, !who.anonymous())
	}
	r.mu.Unlock()

	switch {
	case s == nil:
		writeRefereeProblem(w, problemOf(http.StatusConflict, generated.ProblemTypeNotInitialized, "Sale not initialized",
			"no sale has been initialized; an operator must POST /initialize first"))
	case ans.outcome == refereeHeld:
		w.Header().Set("Location", "/reservations/"+ans.holdID)
		writeJSON(w, http.StatusCreated, generated.Hold{
			ReservationId: ans.holdID,
			UserId:        user,
			Status:        generated.HoldStatusHeld,
			ExpiresAt:     ans.expiresAt.UTC(),
			ShopperToken:  token,
		})
	case ans.outcome == refereeJoined || ans.outcome == refereeStillWaiting:
		msg := "Added to waitlist"
		if ans.outcome == refereeStillWaiting {
			msg = "Already in waitlist"
		}
		w.Header().Set("Location", "/users/"+url.PathEscape(user))
		writeJSON(w, http.StatusAccepted, generated.Waitlisted{
			Status:           generated.WaitlistedStatusWaiting,
			Message:          msg,
			WaitlistPosition: ans.position,
			UserId:           user,
			ShopperToken:     token,
		})
	case ans.outcome == refereeAlreadyHolds:
		p := problemOf(http.StatusConflict, generated.ProblemTypeAlreadyReserved, "User already has a unit",
			fmt.Sprintf("user %s already has reservation %s (held)", user, ans.holdID))
		held := generated.ReservationStatusHeld
		p.ReservationId, p.ReservationStatus = &ans.holdID, &held
		writeRefereeProblem(w, p)
	case ans.outcome == refereeTokenRequired:
		w.Header().Set("WWW-Authenticate", `Bearer realm="flashsale"`)
		writeRefereeProblem(w, problemOf(http.StatusUnauthorized, generated.ProblemTypeTokenRequired, "Shopper token required",
			"this user is known to this sale; send the shopper token their first reserve answered, as Authorization: Bearer <token>"))
	}
}

// caller is who the request's bearer token proves it is; no
// Authorization header proves nobody, and one that proves nobody either
// is an error.
func (r *Referee) caller(req *http.Request) (refereeCaller, error) {
	if req.Header.Get("Authorization") == "" {
		return refereeCaller{}, nil
	}
	tok := bearer(req)
	if tok == "" {
		return refereeCaller{}, errors.New("authorization must be Bearer <token>")
	}
	got := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(got[:], r.tokenHash[:]) == 1 {
		return refereeCaller{admin: true}, nil
	}
	user, err := r.shoppers.verify(tok)
	if err != nil {
		return refereeCaller{}, fmt.Errorf("the bearer token is neither the admin's nor a valid shopper token: %w", err)
	}
	return refereeCaller{user: user}, nil
}

// validUserID is the document's UserID written by hand: 1-128 characters
// of letters, digits and ._:@-, not all dots.
func validUserID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	dots := 0
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c == '.':
			dots++
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == ':', c == '@', c == '-':
		default:
			return false
		}
	}
	return dots < len(id)
}

func (r *Referee) status(w http.ResponseWriter) {
	var st generated.Status
	r.mu.Lock()
	if r.sale != nil {
		st = r.sale.status(r.now())
	}
	r.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

// initialize starts a new sale, whatever the last one held, as the
// baseline does.
func (r *Referee) initialize(w http.ResponseWriter, req *http.Request) {
	got := sha256.Sum256([]byte(bearer(req)))
	if subtle.ConstantTimeCompare(got[:], r.tokenHash[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="flashsale"`)
		writeRefereeProblem(w, problemOf(http.StatusUnauthorized, generated.ProblemTypeUnauthorized, "Unauthorized", "a valid admin bearer token is required"))
		return
	}
	var body generated.InitializeRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxBody)).Decode(&body); err != nil ||
		body.TotalInventory < 0 || body.TotalInventory > r.maxInventory {
		writeRefereeProblem(w, problemOf(http.StatusBadRequest, generated.ProblemTypeInvalidRequest, "Invalid request",
			fmt.Sprintf("body must be {\"total_inventory\": 0..%d}", r.maxInventory)))
		return
	}
	r.mu.Lock()
	now := r.now()
	r.sale = newRefereeSale(body.TotalInventory, now)
	st := r.sale.status(now)
	r.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

func problemOf(status int, typ generated.ProblemType, title, detail string) generated.Problem {
	return generated.Problem{Type: typ, Title: title, Status: status, Detail: &detail}
}

func writeRefereeProblem(w http.ResponseWriter, p generated.Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // the client is gone; nothing to do
}
