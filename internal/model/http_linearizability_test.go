package model_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/model"
	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/sale/conformance"
	"github.com/flashsale/flashsale/internal/shopper"
	"github.com/flashsale/flashsale/internal/testkit"
)

// httpStore is a sale.Store whose every call is a request to the real HTTP
// stack through the generated typed client, so that the model checks what a
// client sees: validation, routing, status codes and JSON included.
// Expire has no endpoint; it calls the store directly, as the server's
// sweeper does.
//
// Each call is made by whom the sale.Call says (caller): a claim of a name
// (Call.Claim) by nobody, with no token, as a new shopper's first reserve;
// a call for a user (a reserve, a confirm or cancel with Call.UserID, a
// read or leave of their own) by that user, with their shopper token; the
// rest (an initialize, a confirm or cancel for nobody, a reservation's
// read) by the admin.
type httpStore struct {
	c      *generated.ClientWithResponses // with no jar: each call says who makes it
	srv    *testkit.Server
	swept  sale.Store
	tokens *shopper.Tokens
	clock  sale.Clock
}

// overHTTP serves stores of kind through the whole HTTP stack, each a
// server of its own on the storage opts names (a PostgreSQL schema, shared).
func overHTTP(opts testkit.Options) conformance.Factory {
	return func(t *testing.T, cfg sale.Config) sale.Store {
		o := opts
		o.Sale = cfg
		srv := testkit.Start(t, o).Server()
		// A user's token is signed as the sale signs its own, with the
		// secret the store keeps: the one the user would hold whether the
		// sale gave it to them on this server or on another of the same
		// storage, or the admin reserved for them and they have none
		// from an answer. It is dated by the history's clock, which the
		// server checks tokens by too (testkit gives the store's clock to
		// the API).
		var clock sale.Clock = sale.SystemClock{}
		if cfg.Clock != nil {
			clock = cfg.Clock
		}
		return &httpStore{c: srv.Bare, srv: srv, swept: srv.Store, tokens: shopper.NewTokens(srv.Store, clock), clock: clock}
	}
}

// caller makes a request as the admin (user ""), or as user with their
// shopper token.
func (h *httpStore) caller(ctx context.Context, user string) (generated.RequestEditorFn, error) {
	token := testkit.AdminToken
	if user != "" {
		var err error
		if token, err = h.tokens.Issue(ctx, user, h.clock.Now()); err != nil {
			return nil, fmt.Errorf("a token for %s: %w", user, err)
		}
	}
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}, nil
}

// nobody makes a request with no token: a claim of a new name.
func nobody(context.Context, *http.Request) error { return nil }

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
	who, err := h.caller(ctx, c.UserID) // the admin for an initialize
	if err != nil {
		return sale.Answer{}, err
	}
	if c.Op == sale.OpReserve && c.Claim {
		who = nobody
	}
	switch c.Op {
	case sale.OpInitialize:
		req := generated.InitializeRequest{TotalInventory: c.Total, Reset: &c.Reset, OpensAt: timeOrNil(c.Window.OpensAt), ClosesAt: timeOrNil(c.Window.ClosesAt)}
		resp, err := h.c.InitializeWithResponse(ctx, &generated.InitializeParams{IdempotencyKey: k}, req, who)
		if err != nil {
			return sale.Answer{}, err
		}
		answer, body = resp.HTTPResponse, resp.Body
		if done = resp.JSON200 != nil; done {
			a.Status = statusOf(*resp.JSON200)
		}
	case sale.OpReserve:
		resp, err := h.c.ReserveWithResponse(ctx, &generated.ReserveParams{IdempotencyKey: k}, generated.ReserveRequest{UserId: &c.UserID}, who)
		if err != nil {
			return sale.Answer{}, err
		}
		answer, body = resp.HTTPResponse, resp.Body
		switch {
		case resp.JSON201 != nil:
			b := resp.JSON201
			if err := tokenGiven(c, b.ShopperToken, resp.Body); err != nil {
				return sale.Answer{}, err
			}
			// The 201 body carries no created_at; zero tells the model so.
			a.Reserve.Reservation = &sale.Reservation{ID: b.ReservationId, UserID: b.UserId, Status: sale.HoldStatus(b.Status), ExpiresAt: b.ExpiresAt}
			done = true
		case resp.JSON202 != nil:
			var user string
			var token *string
			v, err := resp.JSON202.ValueByDiscriminator()
			switch b := v.(type) {
			case generated.Waitlisted:
				user, token = b.UserId, b.ShopperToken
				a.Reserve = sale.ReserveResult{Position: b.WaitlistPosition, AlreadyWaiting: b.Message != "Added to waitlist"}
			case generated.Queued:
				user, token = b.UserId, b.ShopperToken
				a.Reserve = sale.ReserveResult{Queued: true, OpensAt: b.OpensAt, DrawCommitment: b.DrawCommitment,
					AlreadyWaiting: b.Message != "In the pre-queue; places are drawn at the opening"}
			default:
				return sale.Answer{}, fmt.Errorf("202 for %q: %v: %s", c.UserID, err, resp.Body)
			}
			if user != c.UserID {
				return sale.Answer{}, fmt.Errorf("202 for %q names user %q", c.UserID, user)
			}
			if err := tokenGiven(c, token, resp.Body); err != nil {
				return sale.Answer{}, err
			}
			done = true
		}
	case sale.OpConfirm:
		resp, err := h.c.ConfirmReservationWithResponse(ctx, c.ReservationID, &generated.ConfirmReservationParams{IdempotencyKey: k}, who)
		if err != nil {
			return sale.Answer{}, err
		}
		answer, body = resp.HTTPResponse, resp.Body
		if done = resp.JSON200 != nil; done {
			a.Reservation = reservationOf(*resp.JSON200)
		}
	case sale.OpCancel:
		resp, err := h.c.CancelReservationWithResponse(ctx, c.ReservationID, &generated.CancelReservationParams{IdempotencyKey: k}, who)
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

// tokenGiven: a claim that made its user known is answered with their
// token, and a call that came with one is not given another.
func tokenGiven(c sale.Call, token *string, body []byte) error {
	if given := token != nil && *token != ""; given != c.Claim {
		return fmt.Errorf("reserve %s (claim %v) answered with shopper_token %v: %s", c.UserID, c.Claim, given, body)
	}
	return nil
}

func (h *httpStore) Reservation(ctx context.Context, id string) (sale.Reservation, error) {
	who, err := h.caller(ctx, "")
	if err != nil {
		return sale.Reservation{}, err
	}
	resp, err := h.c.GetReservationWithResponse(ctx, id, who)
	if err != nil {
		return sale.Reservation{}, err
	}
	if resp.JSON200 != nil {
		return reservationOf(*resp.JSON200), nil
	}
	return sale.Reservation{}, problemError(resp.StatusCode(), resp.Body, "", 0)
}

func (h *httpStore) User(ctx context.Context, user string) (sale.UserState, error) {
	who, err := h.caller(ctx, user)
	if err != nil {
		return sale.UserState{}, err
	}
	resp, err := h.c.GetUserWithResponse(ctx, user, who)
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
	// No user body says the sale's phase.
	switch b := v.(type) {
	case generated.UserNone:
		u := sale.UserState{UserID: b.UserId, State: sale.None, Phase: model.PhaseUnsaid}
		if b.Reservation != nil {
			r := reservationOf(*b.Reservation)
			u.Reservation = &r
		}
		return u, nil
	case generated.UserQueued:
		return sale.UserState{UserID: b.UserId, State: sale.Queued, Phase: model.PhaseUnsaid, OpensAt: b.OpensAt, DrawCommitment: b.DrawCommitment}, nil
	case generated.UserWaiting:
		return sale.UserState{UserID: b.UserId, State: sale.Waiting, Phase: model.PhaseUnsaid, Position: b.WaitlistPosition}, nil
	case generated.UserHeld:
		r := reservationOf(b.Reservation)
		return sale.UserState{UserID: b.UserId, State: sale.Holding, Phase: model.PhaseUnsaid, Reservation: &r}, nil
	case generated.UserConfirmed:
		r := reservationOf(b.Reservation)
		return sale.UserState{UserID: b.UserId, State: sale.Bought, Phase: model.PhaseUnsaid, Reservation: &r}, nil
	}
	return sale.UserState{}, fmt.Errorf("user %s: unknown state %T: %s", user, v, resp.Body)
}

func (h *httpStore) Leave(ctx context.Context, user string) error {
	who, err := h.caller(ctx, user)
	if err != nil {
		return err
	}
	resp, err := h.c.LeaveWaitlistWithResponse(ctx, user, who)
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

// Entrants is the admin's export, one user id a line.
func (h *httpStore) Entrants(ctx context.Context) ([]string, error) {
	who, err := h.caller(ctx, "")
	if err != nil {
		return nil, err
	}
	resp, err := h.c.GetDrawEntrantsWithResponse(ctx, who)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode() != http.StatusOK {
		return nil, problemError(resp.StatusCode(), resp.Body, "", 0)
	}
	if len(resp.Body) == 0 {
		return nil, nil
	}
	body, ok := strings.CutSuffix(string(resp.Body), "\n")
	if !ok {
		return nil, fmt.Errorf("entrants: the last line is not ended: %q", resp.Body)
	}
	return strings.Split(body, "\n"), nil
}

// Close stops the server and closes the store, so that a test checking many
// histories holds one history's resources (a database's connections) at a
// time.
func (h *httpStore) Close() error { return h.srv.Close() }

// Events has no endpoint (yet); it reads the store directly.
func (h *httpStore) Events(ctx context.Context, after uint64, limit int) ([]sale.Event, <-chan struct{}, error) {
	return h.swept.Events(ctx, after, limit)
}

func (h *httpStore) Newest(ctx context.Context) (uint64, error) { return h.swept.Newest(ctx) }

func (h *httpStore) SigningKey(ctx context.Context, id string, fresh []byte) ([]byte, error) {
	return h.swept.SigningKey(ctx, id, fresh)
}

func statusOf(s generated.Status) sale.Status {
	st := sale.Status{
		Initialized: s.Initialized, Total: s.TotalInventory, Available: s.Available, Held: s.Held, Confirmed: s.Confirmed, Waiting: s.WaitlistSize,
		Phase: sale.Phase(s.Phase), Prequeued: s.PrequeueSize,
	}
	if s.OpensAt != nil {
		st.OpensAt = *s.OpensAt
	}
	if s.ClosesAt != nil {
		st.ClosesAt = *s.ClosesAt
	}
	if s.DrawCommitment != nil {
		st.DrawCommitment = *s.DrawCommitment
	}
	if s.DrawSeed != nil {
		st.DrawSeed = *s.DrawSeed
	}
	return st
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
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
