package shopper_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/shopper"
	"github.com/golang-jwt/jwt/v5"
)

const (
	shopIssuer   = "https://shop.example"
	shopAudience = "flashsale"
)

// shopSecret is an HS256 secret of the length asked for, and a newline.
var shopSecret = []byte("0123456789abcdef0123456789abcdef-shop\n")

// validUser is the test's rule for user ids: no spaces, not empty, as
// httpapi.ValidUserID's (which this package may not import) would say.
func validUser(id string) error {
	if id == "" || strings.ContainsAny(id, " /") || len(id) > 64 {
		return errors.New("not a user id")
	}
	return nil
}

// shopConfig is a config over the files given, on clock.
func shopConfig(keys, secret string, clock *clocktest.Clock) shopper.ShopConfig {
	return shopper.ShopConfig{KeysFile: keys, SecretFile: secret, Issuer: shopIssuer, Audience: shopAudience, ValidUser: validUser, Clock: clock}
}

func loadShop(t testing.TB, cfg shopper.ShopConfig) *shopper.Shop {
	t.Helper()
	s, err := shopper.LoadShop(cfg)
	if err != nil {
		t.Fatalf("load the shop's keys: %v", err)
	}
	return s
}

// shopClaims are good claims for sub at t0, for an hour.
func shopClaims(sub string) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{
		Issuer: shopIssuer, Subject: sub, Audience: jwt.ClaimStrings{shopAudience},
		IssuedAt: jwt.NewNumericDate(t0), ExpiresAt: jwt.NewNumericDate(t0.Add(time.Hour)),
	}
}

func TestShopKeysOfEveryKind(t *testing.T) {
	clock := clocktest.New(t0)
	set := jwks(t, jwk(t, "r1", &rsaKey().PublicKey), jwk(t, "e1", &ecKey().PublicKey), jwk(t, "d1", edKey().Public()))
	pems := bytes.Join([][]byte{publicPEM(t, &rsaKey().PublicKey), publicPEM(t, &ecKey().PublicKey), publicPEM(t, edKey().Public())}, nil)
	rs := func(kid string) string {
		return mint(t, jwt.SigningMethodRS256, rsaKey(), shopClaims("alice"), map[string]any{"kid": kid})
	}
	es := func(kid string) string {
		return mint(t, jwt.SigningMethodES256, ecKey(), shopClaims("bob"), map[string]any{"kid": kid})
	}
	ed := func(kid string) string {
		return mint(t, jwt.SigningMethodEdDSA, edKey(), shopClaims("carol"), map[string]any{"kid": kid})
	}
	hs := mint(t, jwt.SigningMethodHS256, bytes.TrimSpace(shopSecret), shopClaims("dave"), nil)
	ps := mint(t, jwt.SigningMethodPS256, rsaKey(), shopClaims("erin"), nil)

	jwksShop := loadShop(t, shopConfig(writeFile(t, "jwks.json", set), "", clock))
	wantUser(t, jwksShop, "RS256 by a JWKS key", rs("r1"), "alice")
	wantUser(t, jwksShop, "ES256 by a JWKS key", es("e1"), "bob")
	wantUser(t, jwksShop, "EdDSA by a JWKS key", ed("d1"), "carol")

	pemShop := loadShop(t, shopConfig(writeFile(t, "keys.pem", pems), "", clock))
	wantUser(t, pemShop, "RS256 by a PEM key", rs(""), "alice")
	wantUser(t, pemShop, "ES256 by a PEM key", es(""), "bob")
	wantUser(t, pemShop, "EdDSA by a PEM key", ed(""), "carol")
	wantUser(t, pemShop, "PS256 by a PEM RSA key", ps, "erin")

	secretShop := loadShop(t, shopConfig("", writeFile(t, "secret", shopSecret), clock))
	wantUser(t, secretShop, "HS256 by the secret", hs, "dave")

	both := loadShop(t, shopConfig(writeFile(t, "keys.pem", pems), writeFile(t, "secret", shopSecret), clock))
	wantUser(t, both, "HS256 with keys and a secret", hs, "dave")
	wantUser(t, both, "RS256 with keys and a secret", rs(""), "alice")

	// An RSA key in PKCS#1 and in a certificate is read too.
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey().PublicKey)})
	wantUser(t, loadShop(t, shopConfig(writeFile(t, "rsa.pem", pkcs1), "", clock)), "RS256 by a PKCS#1 key", rs(""), "alice")
}

func TestShopRefusesBadTokens(t *testing.T) {
	clock := clocktest.New(t0)
	pemFile := publicPEM(t, &rsaKey().PublicKey)
	set := jwks(t, jwk(t, "r1", &rsaKey().PublicKey), jwk(t, "e1", &ecKey().PublicKey))
	shops := map[string]*shopper.Shop{
		"JWKS":              loadShop(t, shopConfig(writeFile(t, "jwks.json", set), "", clock)),
		"PEM":               loadShop(t, shopConfig(writeFile(t, "keys.pem", pemFile), "", clock)),
		"PEM and a secret":  loadShop(t, shopConfig(writeFile(t, "keys.pem", pemFile), writeFile(t, "secret", shopSecret), clock)),
		"JWKS and a secret": loadShop(t, shopConfig(writeFile(t, "jwks.json", set), writeFile(t, "secret", shopSecret), clock)),
		"a secret, no keys": loadShop(t, shopConfig("", writeFile(t, "secret", shopSecret), clock)),
	}
	r1 := map[string]any{"kid": "r1"}
	rs := func(c jwt.Claims) string { return mint(t, jwt.SigningMethodRS256, rsaKey(), c, r1) }
	with := func(change func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
		c := shopClaims("alice")
		change(&c)
		return c
	}
	bad := map[string]string{
		"no exp": rs(with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })),
		"exp past the leeway": rs(with(func(c *jwt.RegisteredClaims) {
			c.ExpiresAt = jwt.NewNumericDate(t0.Add(-shopper.Leeway - time.Second))
		})),
		"nbf to come, past the leeway": rs(with(func(c *jwt.RegisteredClaims) {
			c.NotBefore = jwt.NewNumericDate(t0.Add(shopper.Leeway + time.Second))
		})),
		"iat to come, past the leeway": rs(with(func(c *jwt.RegisteredClaims) {
			c.IssuedAt = jwt.NewNumericDate(t0.Add(shopper.Leeway + time.Second))
		})),
		"another issuer":           rs(with(func(c *jwt.RegisteredClaims) { c.Issuer = "https://evil.example" })),
		"no issuer":                rs(with(func(c *jwt.RegisteredClaims) { c.Issuer = "" })),
		"another audience":         rs(with(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"another-service"} })),
		"no audience":              rs(with(func(c *jwt.RegisteredClaims) { c.Audience = nil })),
		"a sub that is no user id": rs(with(func(c *jwt.RegisteredClaims) { c.Subject = "alice/../bob" })),
		"no sub":                   rs(with(func(c *jwt.RegisteredClaims) { c.Subject = "" })),
		"alg none":                 unsigned(t, shopClaims("alice"), r1),
		"alg none, no kid":         unsigned(t, shopClaims("alice"), nil),
		// The algorithm confusion attack: the public key, which anyone has,
		// as an HMAC secret.
		"HS256 keyed by the public key's PEM": mint(t, jwt.SigningMethodHS256, pemFile, shopClaims("alice"), r1),
		"HS256 keyed by the PEM, no kid":      mint(t, jwt.SigningMethodHS256, pemFile, shopClaims("alice"), nil),
		"HS256 keyed by the JWKS":             mint(t, jwt.SigningMethodHS256, set, shopClaims("alice"), r1),
		"HS256 keyed by the RSA modulus":      mint(t, jwt.SigningMethodHS256, rsaKey().N.Bytes(), shopClaims("alice"), r1),
		"HS256 by another secret":             mint(t, jwt.SigningMethodHS256, []byte("not the shop's secret, though long enough"), shopClaims("alice"), nil),
		"an unknown kid":                      mint(t, jwt.SigningMethodRS256, rsaOther(), shopClaims("alice"), map[string]any{"kid": "r2"}),
		"another key under a known kid":       mint(t, jwt.SigningMethodRS256, rsaOther(), shopClaims("alice"), r1),
		"a signature changed":                 flipSig(t, rs(shopClaims("alice"))),
		"another token's payload": func() string {
			h, _, s := parts(t, rs(shopClaims("alice")))
			_, p, _ := parts(t, rs(shopClaims("mallory")))
			return h + "." + p + "." + s
		}(),
		"garbage": "eyJhbGciOiJSUzI1NiJ9.garbage.garbage",
	}
	for name, shop := range shops {
		for what, tok := range bad {
			_, err := shop.Verify(t.Context(), tok)
			wantInvalid(t, name+": "+what, err)
		}
	}
	// A JWKS names its keys: a token is checked by the key its kid names,
	// or by none. (PEM keys have no kid, and each is tried.)
	for what, tok := range map[string]string{
		"the right key under an unknown kid":  mint(t, jwt.SigningMethodRS256, rsaKey(), shopClaims("alice"), map[string]any{"kid": "r2"}),
		"an RSA token under the EC key's kid": mint(t, jwt.SigningMethodRS256, rsaKey(), shopClaims("alice"), map[string]any{"kid": "e1"}),
		"another key's token with no kid":     mint(t, jwt.SigningMethodRS256, rsaOther(), shopClaims("alice"), nil),
	} {
		for _, name := range []string{"JWKS", "JWKS and a secret"} {
			_, err := shops[name].Verify(t.Context(), tok)
			wantInvalid(t, name+": "+what, err)
		}
	}
	// Each limit holds to the second: within the leeway is fine.
	edge := rs(with(func(c *jwt.RegisteredClaims) {
		c.ExpiresAt = jwt.NewNumericDate(t0.Add(-shopper.Leeway + time.Second))
		c.NotBefore = jwt.NewNumericDate(t0.Add(shopper.Leeway - time.Second))
		c.IssuedAt = jwt.NewNumericDate(t0.Add(shopper.Leeway - time.Second))
	}))
	wantUser(t, shops["JWKS"], "a token within the leeway", edge, "alice")
	// A sub is the user as it is.
	wantUser(t, shops["PEM"], "a token for user_123", rs(with(func(c *jwt.RegisteredClaims) { c.Subject = "user_123" })), "user_123")
	// An RSA token is refused where there is only a secret.
	_, err := shops["a secret, no keys"].Verify(t.Context(), rs(shopClaims("alice")))
	wantInvalid(t, "RS256 where only a secret is configured", err)
}

func TestShopLoadRefusesBadFiles(t *testing.T) {
	clock := clocktest.New(t0)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey())
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, err := x509.MarshalECPrivateKey(ecKey())
	if err != nil {
		t.Fatal(err)
	}
	good := publicPEM(t, &rsaKey().PublicKey)
	for what, keys := range map[string][]byte{
		"a private key (PKCS#8)":        pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		"an RSA private key":            pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey())}),
		"an EC private key":             pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecPriv}),
		"a public and a private":        append(append([]byte{}, good...), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...),
		"a 1024-bit RSA key":            publicPEM(t, &small.PublicKey),
		"a P-224 key":                   publicPEM(t, &p224.PublicKey),
		"PEM, then garbage":             append(append([]byte{}, good...), "and then some"...),
		"garbage":                       []byte("not a key"),
		"nothing":                       nil,
		"a PUBLIC KEY of garbage":       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("garbage")}),
		"a JWKS with no keys":           []byte(`{"keys":[]}`),
		"JSON that is no JWKS":          []byte(`{"kty":"RSA"}`),
		"a broken JWKS":                 []byte(`{"keys":[{"kty":"RSA","kid":"r1","n":"!!","e":"AQAB"}]`),
		"a JWKS with an HMAC key":       jwks(t, map[string]any{"kty": "oct", "kid": "h1", "k": b64(bytes.TrimSpace(shopSecret))}),
		"a JWKS with a small key":       jwks(t, jwk(t, "s1", &small.PublicKey)),
		"a JWKS of good and small":      jwks(t, jwk(t, "r1", &rsaKey().PublicKey), jwk(t, "s1", &small.PublicKey)),
		"a JWKS with a private RSA key": jwks(t, privateRSA(t, rsaKey())),
		"a JWKS with a private EC key":  jwks(t, privateJWK(t, jwk(t, "e1", &ecKey().PublicKey), ecKey().D.Bytes())),
		"a JWKS with a private Ed25519": jwks(t, privateJWK(t, jwk(t, "d1", edKey().Public()), edKey().Seed())),
	} {
		if _, err := shopper.LoadShop(shopConfig(writeFile(t, "keys", keys), "", clock)); err == nil {
			t.Errorf("keys file of %s: loaded, want refused", what)
		}
	}
	for what, secret := range map[string][]byte{
		"31 bytes":              []byte(strings.Repeat("s", shopper.MinSecret-1)),
		"31 bytes and newlines": []byte(strings.Repeat("s", shopper.MinSecret-1) + "\r\n"),
		"nothing":               nil,
	} {
		if _, err := shopper.LoadShop(shopConfig("", writeFile(t, "secret", secret), clock)); err == nil {
			t.Errorf("secret of %s: loaded, want refused", what)
		}
	}
	if _, err := shopper.LoadShop(shopConfig("", writeFile(t, "secret", []byte(strings.Repeat("s", shopper.MinSecret))), clock)); err != nil {
		t.Errorf("a secret of %d bytes: %v", shopper.MinSecret, err)
	}
	keys := writeFile(t, "keys.pem", good)
	for what, cfg := range map[string]shopper.ShopConfig{
		"no files":                  {Issuer: shopIssuer, Audience: shopAudience, ValidUser: validUser},
		"no issuer":                 {KeysFile: keys, Audience: shopAudience, ValidUser: validUser},
		"no audience":               {KeysFile: keys, Issuer: shopIssuer, ValidUser: validUser},
		"no rule for user ids":      {KeysFile: keys, Issuer: shopIssuer, Audience: shopAudience},
		"a keys file missing":       {KeysFile: keys + ".missing", Issuer: shopIssuer, Audience: shopAudience, ValidUser: validUser},
		"a secret file missing":     {SecretFile: keys + ".missing", Issuer: shopIssuer, Audience: shopAudience, ValidUser: validUser},
		"good keys, a short secret": {KeysFile: keys, SecretFile: writeFile(t, "short", []byte("short")), Issuer: shopIssuer, Audience: shopAudience, ValidUser: validUser},
	} {
		if _, err := shopper.LoadShop(cfg); err == nil {
			t.Errorf("%s: loaded, want refused", what)
		}
	}
}

func TestShopReload(t *testing.T) {
	clock := clocktest.New(t0)
	keys := writeFile(t, "keys.pem", publicPEM(t, &rsaKey().PublicKey))
	shop := loadShop(t, shopConfig(keys, "", clock))
	old := mint(t, jwt.SigningMethodRS256, rsaKey(), shopClaims("alice"), nil)
	wantUser(t, shop, "a token of the first key", old, "alice") // and remembered

	rewrite(t, keys, publicPEM(t, &rsaOther().PublicKey))
	if err := shop.Reload(); err != nil {
		t.Fatalf("reload a good file: %v", err)
	}
	_, err := shop.Verify(t.Context(), old)
	wantInvalid(t, "a token of the key taken away, verified before", err)
	_, err = shop.Verify(t.Context(), mint(t, jwt.SigningMethodRS256, rsaKey(), shopClaims("bob"), nil))
	wantInvalid(t, "a new token of the key taken away", err)
	fresh := mint(t, jwt.SigningMethodRS256, rsaOther(), shopClaims("carol"), nil)
	wantUser(t, shop, "a token of the new key", fresh, "carol")

	for what, b := range map[string][]byte{
		"garbage":       []byte("garbage"),
		"an empty file": nil,
		"a private key": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey())}),
		"a broken JWKS": []byte(`{"keys":[{"kty":"RSA"}]}`),
	} {
		rewrite(t, keys, b)
		if err := shop.Reload(); err == nil {
			t.Errorf("reload %s: no error", what)
		}
		// The keys read before stay, for tokens seen and new ones alike.
		wantUser(t, shop, "a token of the new key after a bad reload of "+what, fresh, "carol")
		wantUser(t, shop, "a new token of the new key after a bad reload of "+what,
			mint(t, jwt.SigningMethodRS256, rsaOther(), shopClaims("dave"), nil), "dave")
		_, err := shop.Verify(t.Context(), old)
		wantInvalid(t, "a token of the old key after a bad reload of "+what, err)
	}

	// A file gone is a bad file too.
	gone := writeFile(t, "gone.pem", publicPEM(t, &rsaOther().PublicKey))
	shop = loadShop(t, shopConfig(gone, "", clock))
	rewrite(t, gone, nil)
	if err := shop.Reload(); err == nil {
		t.Error("reload an emptied file: no error")
	}
	wantUser(t, shop, "a token after the file was emptied", fresh, "carol")

	// A JWKS rotation: a kid taken out of the set stops working.
	set := writeFile(t, "jwks.json", jwks(t, jwk(t, "old", &rsaKey().PublicKey), jwk(t, "new", &rsaOther().PublicKey)))
	shop = loadShop(t, shopConfig(set, "", clock))
	byOld := mint(t, jwt.SigningMethodRS256, rsaKey(), shopClaims("alice"), map[string]any{"kid": "old"})
	byNew := mint(t, jwt.SigningMethodRS256, rsaOther(), shopClaims("bob"), map[string]any{"kid": "new"})
	wantUser(t, shop, "the old kid before the rotation", byOld, "alice")
	wantUser(t, shop, "the new kid before the rotation", byNew, "bob")
	rewrite(t, set, jwks(t, jwk(t, "new", &rsaOther().PublicKey)))
	if err := shop.Reload(); err != nil {
		t.Fatal(err)
	}
	_, err = shop.Verify(t.Context(), byOld)
	wantInvalid(t, "the old kid after the rotation", err)
	wantUser(t, shop, "the new kid after the rotation", byNew, "bob")
}

// privateJWK is pub with the private member d: what a shop that published
// its whole key would give.
func privateJWK(t testing.TB, pub map[string]any, d []byte) map[string]any {
	t.Helper()
	pub["d"] = b64(d)
	return pub
}

// privateRSA is key's whole private JWK (RFC 7518, 6.3.2).
func privateRSA(t testing.TB, key *rsa.PrivateKey) map[string]any {
	t.Helper()
	j := privateJWK(t, jwk(t, "r1", &key.PublicKey), key.D.Bytes())
	j["p"], j["q"] = b64(key.Primes[0].Bytes()), b64(key.Primes[1].Bytes())
	j["dp"], j["dq"], j["qi"] = b64(key.Precomputed.Dp.Bytes()), b64(key.Precomputed.Dq.Bytes()), b64(key.Precomputed.Qinv.Bytes())
	return j
}
