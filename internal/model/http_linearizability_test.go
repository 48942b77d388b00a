package model_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/sale/conformance"
	"github.com/flashsale/flashsale/internal/store/postgres"
	"github.com/flashsale/flashsale/internal/store/sqlite"
)

// httpStore is a sale.Store whose every call is a request to the real HTTP
// stack through the generated typed client, so that the model checks what a
// client sees: validation, routing, status codes and JSON included.
// Expire has no endpoint; it calls the store directly, as the server's
// sweeper does.
type httpStore struct {
	c     *generated.ClientWithResponses
	srv   *httptest.Server
	swept sale.Store
}

const adminToken = "linearizability-admin-token"

// overHTTP serves the stores newStore makes through the whole HTTP stack.
func overHTTP(newStore conformance.Factory) conformance.Factory {
	return func(t *testing.T, cfg sale.Config) sale.Store {
		inner := newStore(t, cfg)
		t.Cleanup(func() { inner.Close() })
		return newHTTPStore(t, inner)
	}
}

func newHTTPStore(t *testing.T, inner sale.Store) sale.Store {
	hub, err := live.Start(live.Config{Store: inner})
	if err != nil {
		t.Fatalf("live.Start: %v", err)
	}
	t.Cleanup(hub.Close)
	h, err := httpapi.New(httpapi.Config{Store: inner, Live: hub, AdminToken: adminToken})
	if err != nil {
		t.Fatalf("httpapi.New: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := generated.NewClientWithResponses(srv.URL, generated.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return &httpStore{c: c, srv: srv, swept: inner}
}

// TestHTTPLinearizable is the linearizability check through the whole HTTP
// stack, on each backend.
func TestHTTPLinearizable(t *testing.T) {
	t.Parallel()
	t.Run("memory", func(t *testing.T) {
		conformance.Linearizable(t, overHTTP(func(t *testing.T, cfg sale.Config) sale.Store { return newMemStore(t, cfg.Clock) }), 20)
	})
	t.Run("sqlite", func(t *testing.T) {
		conformance.Linearizable(t, overHTTP(func(t *testing.T, cfg sale.Config) sale.Store {
			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "sale.db"), cfg)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}), 20)
	})
	// Two HTTP servers, each over its own store, on one PostgreSQL schema;
	// each call goes to the next server in turn.
	t.Run("postgres, two servers", func(t *testing.T) {
		pgtest.ServerDSN(t)
		conformance.LinearizableAcross(t, func(t *testing.T) conformance.Factory {
			dsn := pgtest.Schema(t)
			return overHTTP(func(t *testing.T, cfg sale.Config) sale.Store {
				s, err := postgres.Open(t.Context(), dsn, cfg)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		}, 20)
	})
}

func asAdmin(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", "Bearer "+adminToken)
	return nil
}

// keyOf is the Idempotency-Key header an attempt sends, if any.
func keyOf(a *sale.Attempt) *string {
	if a == nil || a.Key == "" {
		return nil
	}
	return &a.Key
}

// replayed sets a.Replayed from the answer's Idempotency-Replayed header.
func replayed(a *sale.Attempt, resp *http.Response) {
	if a != nil {
		a.Replayed = resp.Header.Get("Idempotency-Replayed") == "true"
	}
}

func (h *httpStore) Initialize(ctx context.Context, total int64, reset bool, a *sale.Attempt) (sale.Status, error) {
	resp, err := h.c.InitializeWithResponse(ctx, &generated.InitializeParams{IdempotencyKey: keyOf(a)}, generated.InitializeRequest{TotalInventory: total, Reset: &reset}, asAdmin)
	if err != nil {
		return sale.Status{}, err
	}
	replayed(a, resp.HTTPResponse)
	if resp.JSON200 != nil {
		return statusOf(*resp.JSON200), nil
	}
	return sale.Status{}, problemError(resp.StatusCode(), resp.Body, "", total)
}

func (h *httpStore) Reserve(ctx context.Context, user string, a *sale.Attempt) (sale.ReserveResult, error) {
	resp, err := h.c.ReserveWithResponse(ctx, &generated.ReserveParams{IdempotencyKey: keyOf(a)}, generated.ReserveRequest{UserId: user})
	if err != nil {
		return sale.ReserveResult{}, err
	}
	replayed(a, resp.HTTPResponse)
	switch {
	case resp.JSON201 != nil:
		b := resp.JSON201
		// The 201 body carries no created_at; zero tells the model so.
		return sale.ReserveResult{Reservation: &sale.Reservation{ID: b.ReservationId, UserID: b.UserId, Status: sale.HoldStatus(b.Status), ExpiresAt: b.ExpiresAt}}, nil
	case resp.JSON202 != nil:
		b := resp.JSON202
		if b.UserId != user {
			return sale.ReserveResult{}, fmt.Errorf("202 for %q names user %q", user, b.UserId)
		}
		return sale.ReserveResult{Position: b.WaitlistPosition, AlreadyWaiting: b.Message != "Added to waitlist"}, nil
	}
	return sale.ReserveResult{}, problemError(resp.StatusCode(), resp.Body, user, 0)
}

func (h *httpStore) Confirm(ctx context.Context, id string, a *sale.Attempt) (sale.Reservation, error) {
	resp, err := h.c.ConfirmReservationWithResponse(ctx, id, &generated.ConfirmReservationParams{IdempotencyKey: keyOf(a)})
	if err != nil {
		return sale.Reservation{}, err
	}
	replayed(a, resp.HTTPResponse)
	if resp.JSON200 != nil {
		return reservationOf(*resp.JSON200), nil
	}
	return sale.Reservation{}, problemError(resp.StatusCode(), resp.Body, "", 0)
}

func (h *httpStore) Cancel(ctx context.Context, id string, a *sale.Attempt) (sale.Reservation, error) {
	resp, err := h.c.CancelReservationWithResponse(ctx, id, &generated.CancelReservationParams{IdempotencyKey: keyOf(a)})
	if err != nil {
		return sale.Reservation{}, err
	}
	replayed(a, resp.HTTPResponse)
	if resp.JSON200 != nil {
		return reservationOf(*resp.JSON200), nil
	}
	return sale.Reservation{}, problemError(resp.StatusCode(), resp.Body, "", 0)
}

func (h *httpStore) Reservation(ctx context.Context, id string) (sale.Reservation, error) {
	resp, err := h.c.GetReservationWithResponse(ctx, id)
	if err != nil {
		return sale.Reservation{}, err
	}
	if resp.JSON200 != nil {
		return reservationOf(*resp.JSON200), nil
	}
	return sale.Reservation{}, problemError(resp.StatusCode(), resp.Body, "", 0)
}

func (h *httpStore) User(ctx context.Context, user string) (sale.UserState, error) {
	resp, err := h.c.GetUserWithResponse(ctx, user)
	if err != nil {
		return sale.UserState{}, err
	}
	if resp.JSON200 == nil {
		return sale.UserState{}, problemError(resp.StatusCode(), resp.Body, user, 0)
	}
	v, err := resp.JSON200.ValueByDiscriminator()
	if err != nil {
		return sale.UserState{}, fmt.Errorf("user %s: %w: %s", user, err, resp.Body)
	}
	switch b := v.(type) {
	case generated.UserNone:
		u := sale.UserState{UserID: b.UserId, State: sale.None}
		if b.Reservation != nil {
			r := reservationOf(*b.Reservation)
			u.Reservation = &r
		}
		return u, nil
	case generated.UserWaiting:
		return sale.UserState{UserID: b.UserId, State: sale.Waiting, Position: b.WaitlistPosition}, nil
	case generated.UserHeld:
		r := reservationOf(b.Reservation)
		return sale.UserState{UserID: b.UserId, State: sale.Holding, Reservation: &r}, nil
	case generated.UserConfirmed:
		r := reservationOf(b.Reservation)
		return sale.UserState{UserID: b.UserId, State: sale.Bought, Reservation: &r}, nil
	}
	return sale.UserState{}, fmt.Errorf("user %s: unknown state %T: %s", user, v, resp.Body)
}

func (h *httpStore) Leave(ctx context.Context, user string) error {
	resp, err := h.c.LeaveWaitlistWithResponse(ctx, user)
	if err != nil {
		return err
	}
	if resp.StatusCode() == http.StatusNoContent {
		return nil
	}
	return problemError(resp.StatusCode(), resp.Body, user, 0)
}

func (h *httpStore) Status(ctx context.Context) (sale.Status, error) {
	resp, err := h.c.GetStatusWithResponse(ctx)
	if err != nil {
		return sale.Status{}, err
	}
	if resp.JSON200 == nil {
		return sale.Status{}, problemError(resp.StatusCode(), resp.Body, "", 0)
	}
	return statusOf(*resp.JSON200), nil
}

func (h *httpStore) Expire(ctx context.Context) (int, error) { return h.swept.Expire(ctx) }

// Close stops the server and closes the store, so that a test checking many
// histories holds one history's resources (a database's connections) at a
// time.
func (h *httpStore) Close() error {
	h.srv.Close()
	return h.swept.Close()
}

// Events has no endpoint (yet); it reads the store directly.
func (h *httpStore) Events(ctx context.Context, after uint64, limit int) ([]sale.Event, <-chan struct{}, error) {
	return h.swept.Events(ctx, after, limit)
}

func (h *httpStore) Newest(ctx context.Context) (uint64, error) { return h.swept.Newest(ctx) }

func statusOf(s generated.Status) sale.Status {
	return sale.Status{Initialized: s.Initialized, Total: s.TotalInventory, Available: s.Available, Held: s.Held, Confirmed: s.Confirmed, Waiting: s.WaitlistSize}
}

func reservationOf(r generated.Reservation) sale.Reservation {
	return sale.Reservation{ID: r.ReservationId, UserID: r.UserId, Status: sale.HoldStatus(r.Status), CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
}

// problemError turns a problem answer back into the store error it stands
// for, by its type. user, when known, is whose reservation a conflict names
// (the problem body does not say). total is the initialize call's argument.
func problemError(status int, body []byte, user string, total int64) error {
	var p generated.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		return fmt.Errorf("status %d with a body that is no problem: %q", status, body)
	}
	if p.Status != status {
		return fmt.Errorf("status %d with a problem that says %d", status, p.Status)
	}
	var base error
	switch p.Type {
	case "/problems/not-initialized":
		base = sale.ErrNotInitialized
	case "/problems/reservation-not-found":
		base = sale.ErrReservationNotFound
	case "/problems/not-waiting":
		base = sale.ErrNotWaiting
	case "/problems/already-reserved":
		base = sale.ErrAlreadyReserved
	case "/problems/hold-expired":
		base = sale.ErrHoldExpired
	case "/problems/hold-cancelled":
		base = sale.ErrHoldCancelled
	case "/problems/already-confirmed":
		base = sale.ErrAlreadyConfirmed
	case "/problems/idempotency-key-in-use":
		return sale.ErrKeyInFlight
	case "/problems/idempotency-key-mismatch":
		return sale.ErrKeyMismatch
	case "/problems/inventory-conflict":
		var taken int64
		if p.Detail == nil {
			return fmt.Errorf("inventory conflict without detail")
		}
		if _, err := fmt.Sscanf(*p.Detail, "total_inventory %d is below held + confirmed = %d", new(int64), &taken); err != nil {
			return fmt.Errorf("inventory conflict detail %q: %w", *p.Detail, err)
		}
		return &sale.InventoryError{Total: total, Taken: taken}
	default:
		return fmt.Errorf("status %d: %s", status, body)
	}
	if p.ReservationId != nil && p.ReservationStatus != nil {
		// The problem names the reservation and its state, not its times;
		// zero times tell the model they were not said.
		return &sale.ConflictError{Err: base, Reservation: sale.Reservation{ID: *p.ReservationId, UserID: user, Status: sale.HoldStatus(*p.ReservationStatus)}}
	}
	return base
}
