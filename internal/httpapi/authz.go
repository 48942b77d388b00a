package httpapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
)

// The one rule of who may do what, applied to every operation about a
// shopper: a call about a shopper is made by that shopper, or by the admin,
// who may do everything for support. Handlers reach the sale through
// acting, never through the store directly, so no handler decides this for
// itself. What a refusal looks like is fixed too, so that it tells nothing:
//
//   - another user's /users/{user_id}…, /waitlist/{user_id} or reserve is
//     errForbidden (403), and nothing is read;
//   - another user's reservation is sale.ErrReservationNotFound (404), the
//     very answer of one that does not exist, so ids cannot be probed. A
//     confirm or cancel says whom it is made for in the sale.Call, and the
//     sale decides it with the change, atomically.

// errForbidden is what a forbidden error is.
var errForbidden = errors.New("forbidden")

// forbidden is a call about user made by another.
type forbidden struct{ user, by string }

func (e *forbidden) Error() string {
	return fmt.Sprintf("this token is %s's; a call about %s must be made with %s's", e.by, e.user, e.user)
}

func (e *forbidden) Is(target error) bool { return target == errForbidden }

// acting is the sale as one caller may see and change it.
type acting struct {
	h   *handlers
	who caller
}

// as is the sale as the caller of ctx's request may see and change it.
func (h *handlers) as(ctx context.Context) acting { return acting{h: h, who: callerOf(ctx)} }

// may says whether the caller may act for user.
func (a acting) may(user string) error {
	switch {
	case a.who.admin || a.who.user == user && user != "":
		return nil
	case a.who.anonymous():
		// The document admits nobody unproven here; the validator has
		// refused them already. Refused again should that ever change.
		return &unauthenticated{why: "a shopper's bearer token is required"}
	}
	return &forbidden{user: user, by: a.who.user}
}

// subject is whom a reserve is for: the body's user_id, or the token's user
// when the body names none.
func (a acting) subject(named *string) (string, error) {
	switch {
	case named != nil:
		return *named, nil
	case a.who.user != "":
		return a.who.user, nil
	}
	return "", errNoUser
}

// errNoUser: a reserve that names nobody, with no token to name them.
var errNoUser = errors.New("user_id is required, unless a shopper's token names the user")

// reserve reserves for the user the body names (or the token's) as the
// caller, and returns that user, the answer, and, for a user the call made
// known, their new token. Before the sale sees it:
//
//   - a caller who proves nobody makes a claim (sale.Call.Claim), which the
//     shop's tokens do not allow, and which is limited per client address
//     (rather than counted against the user named, or strangers could use
//     up a known user's attempts); the secret that will sign the token is
//     made ready first, so that no user is made whose token cannot be;
//   - a shopper reserves for themselves only, refused before their
//     attempts are counted, then limited per user.
func (a acting) reserve(ctx context.Context, named *string, key string) (string, sale.Answer, *string, error) {
	h := a.h
	if a.who.anonymous() && h.tokens == nil {
		return "", sale.Answer{}, nil, &unauthenticated{why: "a shopper's bearer token from the shop is required"}
	}
	user, err := a.subject(named)
	if err != nil {
		return "", sale.Answer{}, nil, err
	}
	c := sale.Call{Op: sale.OpReserve, UserID: user}
	if a.who.anonymous() {
		c.Claim = true
		if h.newUsers != nil {
			addr := clientAddrOf(ctx)
			if ok, wait := h.newUsers.allow(addr, h.clock.Now()); !ok {
				return user, sale.Answer{}, nil, &rateLimited{addr: addr, wait: wait}
			}
		}
		if err := h.tokens.Ready(ctx); err != nil {
			return user, sale.Answer{}, nil, err
		}
	} else {
		if err := a.may(user); err != nil {
			return user, sale.Answer{}, nil, err
		}
		if h.limiter != nil {
			if ok, wait := h.limiter.allow(user, h.clock.Now()); !ok {
				return user, sale.Answer{}, nil, &rateLimited{user: user, wait: wait}
			}
		}
	}
	// The key's scope is the user, so another body is another scope.
	// Within it, a claim and a proven reserve are different calls: one key
	// for both is sale.ErrKeyMismatch (422).
	ans, err := h.store.Do(ctx, c, key)
	if err != nil || !c.Claim {
		return user, ans, nil, err
	}
	// The token is a function of the answer's time (shopper.Tokens.Issue),
	// so a replay of the claim gives the same one.
	token, err := h.tokens.Issue(ctx, user, ans.At)
	if err != nil {
		return user, sale.Answer{}, nil, err
	}
	return user, ans, &token, nil
}

// change makes c as the caller: a confirm or cancel is made for the
// shopper, so that the sale finds only their own reservation; an
// initialize is the admin's alone.
func (a acting) change(ctx context.Context, c sale.Call, key string) (sale.Answer, error) {
	switch c.Op {
	case sale.OpReserve:
		return sale.Answer{}, fmt.Errorf("%w: a reserve goes through acting.reserve", sale.ErrInvalid)
	case sale.OpConfirm, sale.OpCancel:
		c.UserID = a.who.user
	case sale.OpInitialize:
		if !a.who.admin {
			return sale.Answer{}, &unauthenticated{why: "the admin token is required"}
		}
	}
	return a.h.store.Do(ctx, c, key)
}

// entrants is the draw's entrants: the admin's to export.
func (a acting) entrants(ctx context.Context) ([]string, error) {
	if !a.who.admin {
		return nil, &unauthenticated{why: "the admin token is required"}
	}
	return a.h.store.Entrants(ctx)
}

// webhooks is where the webhook endpoints stand: the admin's to see, since
// their URLs may carry the shop's secrets.
func (a acting) webhooks(ctx context.Context) ([]sale.Endpoint, uint64, error) {
	if !a.who.admin {
		return nil, 0, &unauthenticated{why: "the admin token is required"}
	}
	return webhookEndpoints(ctx, a.h.store)
}

func (a acting) reservation(ctx context.Context, id string) (sale.Reservation, error) {
	r, err := a.h.store.Reservation(ctx, id)
	if err != nil {
		return r, err
	}
	// Whose a reservation is never changes, so reading it and then
	// judging is as good as judging in the read.
	if !a.who.admin && r.UserID != a.who.user {
		return sale.Reservation{}, fmt.Errorf("read reservation %s: %w", id, sale.ErrReservationNotFound)
	}
	return r, nil
}

func (a acting) user(ctx context.Context, user string) (sale.UserState, error) {
	if err := a.may(user); err != nil {
		return sale.UserState{}, err
	}
	return a.h.store.User(ctx, user)
}

func (a acting) leave(ctx context.Context, user string) error {
	if err := a.may(user); err != nil {
		return err
	}
	return a.h.store.Leave(ctx, user)
}

func (a acting) open(user string) (*live.Stream, error) {
	if err := a.may(user); err != nil {
		return nil, err
	}
	return a.h.live.Open(user)
}
