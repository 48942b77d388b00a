// Package shopper says who a bearer token names: the shopper a call is made
// by. It knows two kinds of token, and nothing of HTTP or of the sale's
// rules:
//
//   - Tokens: the sale's own shopper tokens, which it signs for a user new
//     to the sale (HS256, by secrets the sale's store keeps, so every server
//     on one database signs and checks alike) and checks on every later call.
//   - Shop: the shop's own JWTs, checked against the public keys (a JWKS or
//     PEM file) or the HS256 secret the shop gives, read again on Reload.
//
// Both remember the tokens they verified until each expires (a bounded
// cache): a signature check costs more than a whole request does.
//
// The JWS itself is golang-jwt's (github.com/golang-jwt/jwt/v5), and JWKS
// parsing keyfunc's (github.com/MicahParks/keyfunc/v3). Which algorithms a
// token may use is fixed by the keys configured, never by the token's own
// header, so `alg: none` and an HS256 token "signed" with an RSA public key
// are refused like any forgery.
package shopper

import (
	"context"
	"errors"
	"time"
)

// Identity is who a valid token names, and until when.
type Identity struct {
	User    string
	Expires time.Time
}

// Verifier checks a bearer token and says whom it names. An invalid token is
// an error wrapping ErrInvalidToken, which says why; a failure to check it
// (the store that keeps the secrets is down) wraps sale.ErrUnavailable.
type Verifier interface {
	Verify(ctx context.Context, token string) (Identity, error)
}

// ErrInvalidToken: the token is not one this server accepts (malformed,
// forged, expired, for another issuer or audience, signed by a key it does
// not know or has retired).
var ErrInvalidToken = errors.New("the bearer token is not valid")

// Leeway is how far apart clocks may be: a token's exp, nbf and iat are
// honoured this much either way.
const Leeway = 30 * time.Second
