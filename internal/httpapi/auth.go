package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// adminAuth checks the bearer token of operations whose security in
// api/openapi.yaml names adminToken. The request validator calls it, so the
// document decides which operations are protected.
//
// The tokens are compared as SHA-256 digests: subtle.ConstantTimeCompare
// returns at once when lengths differ, which would leak the token's length;
// digests always have the same length.
func adminAuth(token string) openapi3filter.AuthenticationFunc {
	want := sha256.Sum256([]byte(token))
	return func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
		if in.SecuritySchemeName != "adminToken" {
			return errors.New("unknown security scheme " + in.SecuritySchemeName)
		}
		// Two Authorization headers are refused, whatever their order: a
		// proxy that reads one and a server that reads the other would
		// disagree about who is calling.
		hs := in.RequestValidationInput.Request.Header.Values("Authorization")
		if len(hs) != 1 {
			return errors.New("exactly one Authorization header is required")
		}
		scheme, got, ok := strings.Cut(hs[0], " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return errors.New("a bearer token is required")
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return errors.New("the bearer token is not valid")
		}
		return nil
	}
}
