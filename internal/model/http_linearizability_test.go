package model_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/sale/conformance"
	"github.com/flashsale/flashsale/internal/testkit"
)

// httpStore is a sale.Store whose every call is a request to the real HTTP
// stack through the generated typed client, so that the model checks what a
// client sees: validation, routing, status codes and JSON included.
// Expire has no endpoint; it calls the store directly, as the server's
// sweeper does.
type httpStore struct {
	c     *generated.ClientWithResponses
	srv   *testkit.Server
	swept sale.Store
}

// overHTTP serves stores of kind through the whole HTTP stack, each a
// server of its own on the storage opts names (a PostgreSQL schema, shared).
func overHTTP(opts testkit.Options) conformance.Factory {
	return func(t *testing.T, cfg sale.Config) sale.Store {
		o := opts
		o.Sale = cfg
		srv := testkit.Start(t, o).Server()
		return &httpStore{c: srv.Client, srv: srv, swept: srv.Store}
	}
}

// TestHTTPLinearizable is the linearizability check through the whole HTTP
// stack, on each backend.
func TestHTTPLinearizable(t *testing.T) {
	t.Parallel()
	t.Run("memory", func(t *testing.T) {
		conformance.Linearizable(t, overHTTP(testkit.Options{Store: testkit.Memory}), 20)
	})
	t.Run("sqlite", func(t *testing.T) {
		// Each history opens a file of its own: the options are copied.
		conformance.Linearizable(t, overHTTP(testkit.Options{Store: testkit.SQLite}), 20)
	})
	// Two HTTP servers, each over its own store, on one PostgreSQL schema;
	// each call goes to the next server in turn.
	t.Run("postgres, two servers", func(t *testing.T) {
		pgtest.ServerDSN(t)
		conformance.LinearizableAcross(t, func(t *testing.T) conformance.Factory {
			return overHTTP(testkit.Options{Store: testkit.Postgres, DSN: pgtest.Schema(t)})
		}, 20)
	})
}

func asAdmin(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", "Bearer "+testkit.AdminToken)
	return nil
}

// Do sends the change as its request, with key as its Idempotency-Key, and
// reads the answer back as the store's.
func (h *httpStore) Do(ctx context.Context, c sale.Call, key string) (sale.Answer, error) {
	var k *string
	if key != "" {
		k = &key
	}
	var (
		a      sale.Answer
		answer *http.Response
		body   []byte
		done   bool // the answer was a success, read into a
	)
	switch c.Op {
	case sale.OpInitialize:
		resp, err := h.c.InitializeWithResponse(ctx, &generated.InitializeParams{IdempotencyKey: k}, generated.InitializeRequest{TotalInventory: c.Total, Reset: &c.Reset}, asAdmin)
		if err != nil {
			return sale.Answer{}, err
		}
		answer, body = resp.HTTPResponse, resp.Body
		if done = resp.JSON200 != nil; done {
			a.Status = statusOf(*resp.JSON200)
		}
	case sale.OpReserve:
		resp, err := h.c.ReserveWithResponse(ctx, &generated.ReserveParams{IdempotencyKey: k}, generated.ReserveRequest{UserId: c.UserID})
		if err != nil {
			return sale.Answer{}, err
		}
		answer, body = resp.HTTPResponse, resp.Body
		switch {
		case resp.JSON201 != nil:
			b := resp.JSON201
			// The 201 body carries no created_at; zero tells the model so.
			a.Reserve.Reservation = &sale.Reservation{ID: b.ReservationId, UserID: b.UserId, Status: sale.HoldStatus(b.Status), ExpiresAt: b.ExpiresAt}
			done = true
		case resp.JSON202 != nil:
			b := resp.JSON202
			if b.UserId != c.UserID {
				return sale.Answer{}, fmt.Errorf("202 for %q names user %q", c.UserID, b.UserId)
			}
			a.Reserve = sale.ReserveResult{Position: b.WaitlistPosition, AlreadyWaiting: b.Message != "Added to waitlist"}
			done = true
		}
	case sale.OpConfirm:
		resp, err := h.c.ConfirmReservationWithResponse(ctx, c.ReservationID, &generated.ConfirmReservationParams{IdempotencyKey: k})
		if err != nil {
			return sale.Answer{}, err
		}
		answer, body = resp.HTTPResponse, resp.Body
		if done = resp.JSON200 != nil; done {
			a.Reservation = reservationOf(*resp.JSON200)
		}
	case sale.OpCancel:
		resp, err := h.c.CancelReservationWithResponse(ctx, c.ReservationID, &generated.CancelReservationParams{IdempotencyKey: k})
		if err != nil {
			return sale.Answer{}, err
		}
		answer, body = resp.HTTPResponse, resp.Body
		if done = resp.JSON200 != nil; done {
			a.Reservation = reservationOf(*resp.JSON200)
		}
	default:
		return sale.Answer{}, fmt.Errorf("no request makes %s", c)
	}
	a.Replayed = answer.Header.Get("Idempotency-Replayed") == "true"
	if !done {
		a.Err = problemError(answer.StatusCode, body, c.UserID, c.Total)
	}
	return a, a.Err
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
func (h *httpStore) Close() error { return h.srv.Close() }

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
	// A problem's type names the error's kind (sale.Kind).
	base := sale.ErrorOf(sale.Kind(strings.TrimPrefix(string(p.Type), "/problems/")))
	switch {
	case base == nil:
		return fmt.Errorf("status %d: %s", status, body)
	case base == sale.ErrInventoryConflict:
		var taken int64
		if p.Detail == nil {
			return fmt.Errorf("inventory conflict without detail")
		}
		if _, err := fmt.Sscanf(*p.Detail, "total_inventory %d is below held + confirmed = %d", new(int64), &taken); err != nil {
			return fmt.Errorf("inventory conflict detail %q: %w", *p.Detail, err)
		}
		return &sale.InventoryError{Total: total, Taken: taken}
	}
	if p.ReservationId != nil && p.ReservationStatus != nil {
		// The problem names the reservation and its state, not its times;
		// zero times tell the model they were not said.
		return &sale.ConflictError{Err: base, Reservation: sale.Reservation{ID: *p.ReservationId, UserID: user, Status: sale.HoldStatus(*p.ReservationStatus)}}
	}
	return base
}
