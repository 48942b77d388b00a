package shopper_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/shopper"
	"github.com/golang-jwt/jwt/v5"
)

// t0 is the middle of a signing period (periods start at midnight UTC, as
// they are counted from the Unix epoch in whole days).
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// periodStart is the start of the signing period at falls in.
func periodStart(at time.Time) time.Time { return at.UTC().Truncate(24 * time.Hour) }

// kidAt is the kid the sale's tokens name the period of at by.
func kidAt(at time.Time) string { return "k" + strconv.FormatInt(periodStart(at).Unix(), 10) }

// keyring is a sale.Keyring in memory that can be made to fail, and
// remembers which ids it was asked to keep.
type keyring struct {
	mu   sync.Mutex
	keys map[string][]byte
	down bool
	made []string // ids a secret was first kept under, in order
}

func newKeyring() *keyring { return &keyring{keys: map[string][]byte{}} }

func (k *keyring) SigningKey(_ context.Context, id string, fresh []byte) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.down {
		return nil, fmt.Errorf("keyring: the database does not answer: %w", sale.ErrUnavailable)
	}
	if s, ok := k.keys[id]; ok {
		return s, nil
	}
	s := append([]byte(nil), fresh...)
	k.keys[id] = s
	k.made = append(k.made, id)
	return s, nil
}

func (k *keyring) setDown(down bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.down = down
}

// secret is the secret kept under id, which must exist.
func (k *keyring) secret(t testing.TB, id string) []byte {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.keys[id]
	if !ok {
		t.Fatalf("the keyring keeps no secret %s (it has %v)", id, k.made)
	}
	return s
}

func (k *keyring) ids() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.made...)
}

// mint signs claims with method and key, with the header fields header.
func mint(t testing.TB, method jwt.SigningMethod, key any, claims jwt.Claims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("mint a %s token: %v", method.Alg(), err)
	}
	return s
}

// unsigned is a token with alg none: a header and claims, no signature.
func unsigned(t testing.TB, claims jwt.Claims, header map[string]any) string {
	t.Helper()
	return mint(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims, header)
}

// segments encodes a header and claims as a token's first two parts, with
// sig as its third: a token put together by hand, as an attacker would.
func segments(t testing.TB, header, claims any, sig string) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return b64(h) + "." + b64(c) + "." + sig
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// parts splits a token in its three parts.
func parts(t testing.TB, tok string) (header, payload, sig string) {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("token %q has %d parts", tok, len(p))
	}
	return p[0], p[1], p[2]
}

// flipSig changes the signature of tok in a bit that counts: its first
// character (the last one's low bits may be padding the decoder ignores).
func flipSig(t testing.TB, tok string) string {
	t.Helper()
	h, p, s := parts(t, tok)
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return h + "." + p + "." + string(c) + s[1:]
}

// wantInvalid fails t unless err says the token is invalid (and not that
// it could not be checked).
func wantInvalid(t testing.TB, what string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: accepted, want refused as invalid", what)
	case !errors.Is(err, shopper.ErrInvalidToken):
		t.Errorf("%s: %v, want an error wrapping ErrInvalidToken", what, err)
	case errors.Is(err, sale.ErrUnavailable):
		t.Errorf("%s: %v is both invalid and unavailable", what, err)
	}
}

// The shop's keys, made once for every test of the package: RSA keys are
// slow to make under the race detector.
var (
	rsaKey   = sync.OnceValue(func() *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, 2048)) })
	rsaOther = sync.OnceValue(func() *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, 2048)) })
	ecKey    = sync.OnceValue(func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) })
	edKey    = sync.OnceValue(func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// publicPEM is key's public half as a PEM PUBLIC KEY block.
func publicPEM(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// jwk is the public JWK of key under kid, written out by hand (RFC 7517,
// 7518 and 8037), to test the file a shop would publish rather than this
// library's idea of it.
func jwk(t testing.TB, kid string, key any) map[string]any {
	t.Helper()
	switch k := key.(type) {
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
			"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		ecdh, err := k.ECDH()
		if err != nil {
			t.Fatal(err)
		}
		point := ecdh.Bytes() // 0x04 || X || Y, each 32 bytes on P-256
		return map[string]any{"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
			"x": b64(point[1:33]), "y": b64(point[33:])}
	case ed25519.PublicKey:
		return map[string]any{"kty": "OKP", "kid": kid, "use": "sig", "crv": "Ed25519", "x": b64(k)}
	}
	t.Fatalf("no JWK for a %T", key)
	return nil
}

// jwks is a JWK Set of keys, as JSON.
func jwks(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeFile writes b to a new file of t's and returns its path.
func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// rewrite replaces the file at path with b.
func rewrite(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
