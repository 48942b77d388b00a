package httpapi_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/shopper"
	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/golang-jwt/jwt/v5"
)

// Tokens an attacker can make: malformed, forged, expired, for another
// issuer, signed with alg none or a retired key; and the shop's keys.

// attackKind is who an attacker proves to be.
type attackKind int

const (
	asMallory attackKind = iota // a valid token, mallory's own
	asNobody                    // no Authorization at all
	asInvalid                   // an Authorization that proves nobody
)

type attacker struct {
	name string
	auth []string
	kind attackKind
}

// scene is a sale under attack: alice and bob hold, carol and mallory wait.
type scene struct {
	own      bool // the sale's own tokens, where a reserve with none claims a name
	tokens   map[string]string
	aliceRes string
	bobRes   string
	attacks  []attacker
}

// malformed are Authorization headers that are not one bearer token.
func malformed(alice, mallory string) []attacker {
	return []attacker{
		{"Bearer and nothing", []string{"Bearer"}, asInvalid},
		{"Basic", []string{"Basic YWxpY2U6c2VjcmV0"}, asInvalid},
		{"Bearer a b", []string{"Bearer a b"}, asInvalid},
		{"alice's token and more", []string{"Bearer " + alice + " " + alice}, asInvalid},
		{"alice's token with no scheme", []string{alice}, asInvalid},
		{"alice's token after a tab", []string{"Bearer\t" + alice}, asInvalid},
		{"alice's token as a cookie would be", []string{"token=" + alice}, asInvalid},
		{"two headers, alice's first", []string{"Bearer " + alice, "Bearer " + mallory}, asInvalid},
		{"two headers, both alice's", []string{"Bearer " + alice, "Bearer " + alice}, asInvalid},
		{"an empty header", []string{""}, asInvalid},
	}
}

// forgedSignatures are tok with its signature changed where it counts: the
// first character, and the last one's bits that carry the signature (its
// lowest are padding, which a decoder may ignore).
func forgedSignatures(tok string) []string {
	i := strings.LastIndexByte(tok, '.')
	sig := []byte(tok[i+1:])
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	first := slices.Clone(sig)
	first[0] = alphabet[(strings.IndexByte(alphabet, first[0])+1)%64]
	last := slices.Clone(sig)
	last[len(last)-1] = alphabet[strings.IndexByte(alphabet, last[len(last)-1])^0b100000]
	return []string{tok[:i+1] + string(first), tok[:i+1] + string(last)}
}

// mintToken signs claims with method and key, under kid when not empty.
func mintToken(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// algNone is claims with alg none under kid, and sig as its signature.
func algNone(t *testing.T, claims jwt.Claims, kid, sig string) string {
	t.Helper()
	s := mintToken(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims, kid)
	return s + sig
}

// tokenParts reads a token's kid and claims without checking it.
func tokenParts(t *testing.T, tok string) (string, jwt.RegisteredClaims) {
	t.Helper()
	var c jwt.RegisteredClaims
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, &c)
	if err != nil {
		t.Fatalf("token %q: %v", tok, err)
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid, c
}

// signingKey reads the secret the stack's store keeps under kid, and makes
// sure it is the one that signed tok, so that a token the test mints with
// it is one the sale could have signed.
func signingKey(t *testing.T, s *testkit.Stack, kid, tok string) []byte {
	t.Helper()
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	secret, err := s.Server().Store.SigningKey(t.Context(), kid, fresh)
	if err != nil {
		t.Fatal(err)
	}
	tkid, claims := tokenParts(t, tok)
	if tkid != kid || mintToken(t, jwt.SigningMethodHS256, secret, claims, kid) != tok {
		t.Fatalf("the store's secret %s did not sign %s", kid, tok)
	}
	return secret
}

// shopperTokenClaims are the claims of the sale's token for user, issued
// at at, expiring at exp.
func shopperTokenClaims(user string, at, exp time.Time) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{Issuer: "flashsale", Subject: user, IssuedAt: jwt.NewNumericDate(at), ExpiresAt: jwt.NewNumericDate(exp)}
}

// identityRSA are RSA keys for the shop's tokens, made once: they are slow
// to make under the race detector.
var identityRSA = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	a, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	b, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return a, b
})

// shopKeys is the shop's keys as the suite configures them: a JWKS of
// two RSA keys and an HS256 secret, of which the "shop-old" key is taken
// out by a reload before any sale.
type shopKeys struct {
	verifier        *shopper.Shop
	current, old    *rsa.PrivateKey
	publicPEM, jwks []byte
	secret          []byte
	issuer, aud     string
	retiredToken    string // alice's, signed by shop-old
}

func newShopKeys(t *testing.T) *shopKeys {
	t.Helper()
	current, old := identityRSA()
	k := &shopKeys{current: current, old: old, issuer: "https://shop.example", aud: "flashsale",
		secret: []byte("the shop's HS256 secret, 32 bytes or more")}
	der, err := x509.MarshalPKIXPublicKey(&current.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	k.publicPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwk := func(kid string, key *rsa.PublicKey) map[string]any {
		return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}
	}
	both, _ := json.Marshal(map[string]any{"keys": []any{jwk("shop-2026", &current.PublicKey), jwk("shop-old", &old.PublicKey)}})
	k.jwks, _ = json.Marshal(map[string]any{"keys": []any{jwk("shop-2026", &current.PublicKey)}})
	dir := t.TempDir()
	keysFile, secretFile := filepath.Join(dir, "jwks.json"), filepath.Join(dir, "secret")
	for p, b := range map[string][]byte{keysFile: both, secretFile: k.secret} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	k.verifier, err = shopper.LoadShop(shopper.ShopConfig{KeysFile: keysFile, SecretFile: secretFile, Issuer: k.issuer, Audience: k.aud, ValidUser: httpapi.ValidUserID})
	if err != nil {
		t.Fatal(err)
	}
	k.retiredToken = mintToken(t, jwt.SigningMethodRS256, old, k.claims("alice"), "shop-old")
	if _, err := k.verifier.Verify(t.Context(), k.retiredToken); err != nil {
		t.Fatalf("a token of shop-old before the reload: %v", err)
	}
	if err := os.WriteFile(keysFile, k.jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := k.verifier.Reload(); err != nil {
		t.Fatal(err)
	}
	return k
}

// claims are good claims of the shop's for user, for an hour from now (the
// shop's verifier is on the real clock).
func (k *shopKeys) claims(user string) jwt.RegisteredClaims {
	now := time.Now()
	return jwt.RegisteredClaims{Issuer: k.issuer, Subject: user, Audience: jwt.ClaimStrings{k.aud},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}
}

func (k *shopKeys) token(t *testing.T, user string) string {
	t.Helper()
	return mintToken(t, jwt.SigningMethodRS256, k.current, k.claims(user), "shop-2026")
}
