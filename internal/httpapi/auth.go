package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/shopper"
	"github.com/getkin/kin-openapi/openapi3"
)

// Who is asking is told apart here, once per request, before anything else
// about the request is read (authentication). What each caller may do is
// authz.go's (authorization).

// caller is who a request is made by: the operator (the admin token), a
// shopper (a valid shopper token names them), or nobody proven (the zero
// value).
type caller struct {
	admin bool
	user  string
}

func (c caller) anonymous() bool { return !c.admin && c.user == "" }

type callerKey struct{}

// callerOf is who made the request whose context ctx is.
func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// access is who an operation of the document admits, from its security:
// adminToken, shopperToken, and an empty requirement for anyone.
type access struct {
	anyone, shopper, admin bool
}

func accessOf(security openapi3.SecurityRequirements) (access, error) {
	if len(security) == 0 {
		return access{anyone: true}, nil
	}
	var a access
	for _, req := range security {
		if len(req) == 0 {
			a.anyone = true
		}
		for name := range req {
			switch name {
			case "adminToken":
				a.admin = true
			case "shopperToken":
				a.shopper = true
			default:
				return a, fmt.Errorf("unknown security scheme %q", name)
			}
		}
	}
	return a, nil
}

// open says the operation needs no token and reads none.
func (a access) open() bool { return a.anyone && !a.admin && !a.shopper }

// authenticator tells who is asking from the Authorization header.
type authenticator struct {
	admin    [sha256.Size]byte // the admin token's digest
	shoppers shopper.Verifier
}

// unauthenticated is a request refused because it does not prove who is
// asking: answered 401 with a Bearer challenge (RFC 6750).
type unauthenticated struct {
	why string
	// invalid: a token came and is not valid (error="invalid_token");
	// otherwise none came, or not as a bearer token.
	invalid bool
}

func (e *unauthenticated) Error() string { return e.why }

func (e *unauthenticated) Is(target error) bool { return target == errUnauthenticated }

// errUnauthenticated is what an unauthenticated error is.
var errUnauthenticated = errors.New("unauthenticated")

// authenticate returns who made r, or why the operation's access refuses
// them. A store that cannot be read to check a token is sale.ErrUnavailable.
//
// The admin token is compared as a SHA-256 digest: subtle.ConstantTimeCompare
// returns at once when lengths differ, which would leak the token's length;
// digests always have the same length.
func (a *authenticator) authenticate(ctx context.Context, r *http.Request, op access) (caller, error) {
	hs := r.Header.Values("Authorization")
	switch {
	case len(hs) == 0 && op.anyone:
		return caller{}, nil
	case len(hs) == 0:
		return caller{}, &unauthenticated{why: a.needed(op)}
	case len(hs) > 1:
		// A proxy that reads one and a server that reads the other would
		// disagree about who is calling.
		return caller{}, &unauthenticated{why: "exactly one Authorization header is allowed", invalid: true}
	}
	scheme, token, ok := strings.Cut(hs[0], " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return caller{}, &unauthenticated{why: "the Authorization header must be Bearer followed by a token"}
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], a.admin[:]) == 1 {
		if !op.admin {
			return caller{}, &unauthenticated{why: "this call is a shopper's: send the shopper's token, not the admin token", invalid: true}
		}
		return caller{admin: true}, nil
	}
	if !op.shopper {
		return caller{}, &unauthenticated{why: "the admin token is not valid", invalid: true}
	}
	id, err := a.shoppers.Verify(ctx, token)
	if err != nil {
		if errors.Is(err, sale.ErrUnavailable) {
			return caller{}, err
		}
		return caller{}, &unauthenticated{why: err.Error(), invalid: true}
	}
	return caller{user: id.User}, nil
}

// needed says what token an operation wants.
func (a *authenticator) needed(op access) string {
	switch {
	case op.shopper && op.admin:
		return "a bearer token is required: the shopper's (Authorization: Bearer <token>), or the admin token"
	case op.admin:
		return "a valid admin token is required in the Authorization header, as Bearer followed by the token"
	}
	return "a shopper's bearer token is required"
}

// challenge is the WWW-Authenticate of a 401 for err.
func challenge(err *unauthenticated) string {
	if err.invalid {
		return `Bearer realm="flashsale", error="invalid_token"`
	}
	return `Bearer realm="flashsale"`
}
