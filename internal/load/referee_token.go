package load

import (
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// verify returns the user a token issued by issue names, or an error when
// it is not one: another key, another algorithm, another issuer, expired.
// The baseline never needs this; the referee does, for a known user.
func (t baselineTokens) verify(token string) (string, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(baselineIssuer),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		return "", fmt.Errorf("shopper token: %w", err)
	}
	if claims.Subject == "" {
		return "", errors.New("shopper token: no subject")
	}
	return claims.Subject, nil
}
