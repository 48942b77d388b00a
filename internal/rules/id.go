package rules

import (
	"crypto/rand"
	"encoding/base64"
)

// newID returns 128 random bits as 22 characters of unpadded base64url: an
// id nobody can guess (OWASP API1), safe in a URL path.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails since Go 1.24; it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}
