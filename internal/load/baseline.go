package load

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// Baseline is the speed of light for POST /reserve on this machine: the
// least a correct server must do to answer it. It decodes the same body with
// encoding/json, takes a unit with one atomic decrement or a place in line
// with one atomic increment, signs the new user's shopper token
// (baselineTokens), and encodes the same JSON shapes (a Hold with a
// Location header, or a Waitlisted, each with the token). No routing
// library, validation, rate limiting, metrics, logging or per-user
// bookkeeping: everything the real server adds on top is what the
// comparison prices.
//
// It also answers POST /initialize (always starting a new sale), GET /status
// and GET /healthz, so that wrk and the books command drive it and check
// its books as they do the real server's. It does not know users, so it
// cannot refuse a second reservation by the same one, nor tell a new user
// (who needs no token) from a known one (who needs theirs): neither wrk nor
// the books command sends one outside the books command's --mix, and --mix
// is for the real server.
type Baseline struct {
	tokenHash    [32]byte
	maxInventory int64
	shoppers     baselineTokens
	sale         atomic.Pointer[baselineSale]
}

// baselineSale is swapped whole by /initialize, so that a status read never
// mixes two sales.
type baselineSale struct {
	total   int64
	left    atomic.Int64 // goes below zero once sold out; held = total - max(left, 0)
	waiting atomic.Int64
	ids     atomic.Uint64
	key     uint64 // makes ids differ between sales
}

// NewBaseline returns the baseline handler; token is the admin bearer token.
// It panics if the embedded API document does not give the largest
// inventory: that is a defect of the build, not of the run.
func NewBaseline(token string) *Baseline {
	most, err := maxInventory()
	if err != nil {
		panic("load: " + err.Error())
	}
	return &Baseline{tokenHash: sha256.Sum256([]byte(token)), maxInventory: most, shoppers: newBaselineTokens()}
}

func (b *Baseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/reserve":
		b.reserve(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/status":
		b.status(w)
	case r.Method == http.MethodPost && r.URL.Path == "/initialize":
		b.initialize(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/healthz":
		writeJSON(w, http.StatusOK, generated.Health{Status: generated.HealthStatusOk})
	default:
		writeBaselineProblem(w, http.StatusNotFound, generated.ProblemTypeNotFound, "no such route")
	}
}

func (b *Baseline) reserve(w http.ResponseWriter, r *http.Request) {
	var req generated.ReserveRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil || req.UserId == nil || *req.UserId == "" {
		writeBaselineProblem(w, http.StatusBadRequest, generated.ProblemTypeInvalidRequest, "body must be {\"user_id\": \"...\"}")
		return
	}
	user := *req.UserId
	s := b.sale.Load()
	if s == nil {
		writeBaselineProblem(w, http.StatusConflict, generated.ProblemTypeNotInitialized, "no sale has been initialized")
		return
	}
	now := time.Now()
	token, err := b.shoppers.issue(user, now)
	if err != nil {
		writeBaselineProblem(w, http.StatusInternalServerError, generated.ProblemTypeInternal, err.Error())
		return
	}
	if s.left.Add(-1) >= 0 {
		id := s.newID()
		w.Header().Set("Location", "/reservations/"+id)
		writeJSON(w, http.StatusCreated, generated.Hold{
			ReservationId: id,
			UserId:        user,
			Status:        generated.HoldStatusHeld,
			ExpiresAt:     now.Add(holdTTL).UTC(),
			ShopperToken:  &token,
		})
		return
	}
	w.Header().Set("Location", "/users/"+user) // user ids are URL-safe by the schema
	writeJSON(w, http.StatusAccepted, generated.Waitlisted{
		Status:           generated.WaitlistedStatusWaiting,
		Message:          "Added to waitlist",
		WaitlistPosition: s.waiting.Add(1),
		UserId:           user,
		ShopperToken:     &token,
	})
}

// newID makes a 22-character base64url id, the shape of the real server's.
// It need not be unguessable here, only distinct.
func (s *baselineSale) newID() string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], s.key)
	binary.BigEndian.PutUint64(raw[8:], s.ids.Add(1))
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

func (b *Baseline) status(w http.ResponseWriter) {
	st := generated.Status{}
	if s := b.sale.Load(); s != nil {
		held := s.total - max(s.left.Load(), 0)
		st = generated.Status{Initialized: true, TotalInventory: s.total, Available: s.total - held, Held: held, WaitlistSize: s.waiting.Load()}
	}
	writeJSON(w, http.StatusOK, st)
}

func (b *Baseline) initialize(w http.ResponseWriter, r *http.Request) {
	got := sha256.Sum256([]byte(bearer(r)))
	if subtle.ConstantTimeCompare(got[:], b.tokenHash[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="flashsale"`)
		writeBaselineProblem(w, http.StatusUnauthorized, generated.ProblemTypeUnauthorized, "a valid admin bearer token is required")
		return
	}
	var req generated.InitializeRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil ||
		req.TotalInventory < 0 || req.TotalInventory > b.maxInventory {
		writeBaselineProblem(w, http.StatusBadRequest, generated.ProblemTypeInvalidRequest, fmt.Sprintf("body must be {\"total_inventory\": 0..%d}", b.maxInventory))
		return
	}
	s := &baselineSale{total: req.TotalInventory, key: uint64(time.Now().UnixNano())}
	s.left.Store(req.TotalInventory)
	b.sale.Store(s)
	writeJSON(w, http.StatusOK, generated.Status{Initialized: true, TotalInventory: s.total, Available: s.total})
}

func bearer(r *http.Request) string {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) < len(prefix) || h[:len(prefix)] != prefix {
		return ""
	}
	return h[len(prefix):]
}

// writeJSON encodes v as the generated strict server does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client is gone; nothing to do
}

func writeBaselineProblem(w http.ResponseWriter, status int, typ generated.ProblemType, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(generated.Problem{Type: typ, Title: http.StatusText(status), Status: status, Detail: &detail})
}

// ServeBaseline serves the baseline on addr until ctx is done. It logs the
// bound address for a person to read; the benchmarks that start it pick its
// port themselves and never read its log.
func ServeBaseline(ctx context.Context, addr, token string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("baseline listen: %w", err)
	}
	srv := &http.Server{
		Handler:           NewBaseline(token),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
	}
	log.Info("listening", "addr", ln.Addr().String(), "server", "baseline")
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("baseline serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("baseline shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("baseline serve: %w", err)
	}
	return nil
}
