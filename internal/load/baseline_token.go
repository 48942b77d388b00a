package load

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// baselineTokens signs the shopper_token the document has every new user's
// 201 and 202 carry. A correct answer to a first reserve now includes a
// signed token, and signing it is a good part of what the answer costs, so
// the baseline signs one as the real server does: HS256 with golang-jwt,
// the same claims (iss, sub, iat, exp) and a kid, under a secret of its
// own. Left out, the comparison would price the signature as the real
// server's overhead. It checks no token: nothing the baseline serves needs
// one (see Baseline).
type baselineTokens struct {
	secret []byte
}

// baselineIssuer and baselineKid stand for the real server's issuer and
// signing period; only their length matters here.
const (
	baselineIssuer = "flashsale"
	baselineKid    = "k1700000000"
)

func newBaselineTokens() baselineTokens {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // never fails (crypto/rand)
	return baselineTokens{secret: secret}
}

// issue is user's token, issued at at.
func (t baselineTokens) issue(user string, at time.Time) (string, error) {
	at = at.UTC().Truncate(time.Second)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer:    baselineIssuer,
		Subject:   user,
		IssuedAt:  jwt.NewNumericDate(at),
		ExpiresAt: jwt.NewNumericDate(at.Add(shopperTokenTTL)),
	})
	tok.Header["kid"] = baselineKid
	s, err := tok.SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("sign a shopper token for %s: %w", user, err)
	}
	return s, nil
}
