package shopper

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/golang-jwt/jwt/v5"
)

// ShopConfig is how the shop's tokens are checked.
type ShopConfig struct {
	// KeysFile holds the shop's public keys: a JWKS (JSON), or PEM blocks
	// (PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE). SecretFile holds an HS256
	// secret. At least one is given; with both, a token is checked by the
	// one its algorithm belongs to.
	KeysFile, SecretFile string
	// Issuer and Audience are the iss and an aud every token must carry.
	Issuer, Audience string
	// ValidUser says whether a sub can be a user id of the API.
	ValidUser func(string) error
	Clock     sale.Clock
}

// MinSecret is the shortest HS256 secret taken: RFC 7518 asks for one at
// least as long as the hash, 256 bits.
const MinSecret = 32

// Shop checks the shop's own JWTs. Reload reads its files again; tokens
// verified before it are checked afresh.
type Shop struct {
	cfg  ShopConfig
	keys atomic.Pointer[shopKeys]
	seen cache
}

// shopKeys is one reading of the files.
type shopKeys struct {
	parser  *jwt.Parser
	keyfunc jwt.Keyfunc
}

// LoadShop reads the files of cfg; an error says what is wrong with them.
func LoadShop(cfg ShopConfig) (*Shop, error) {
	switch {
	case cfg.KeysFile == "" && cfg.SecretFile == "":
		return nil, errors.New("no keys: give a file of public keys, or of an HS256 secret")
	case cfg.Issuer == "":
		return nil, errors.New("no issuer: every token's iss must be checked")
	case cfg.Audience == "":
		return nil, errors.New("no audience: every token's aud must be checked, or a token the shop made for another service would do here")
	case cfg.ValidUser == nil:
		// Checked here, not at the first token: a sub no user id can be
		// must never name a shopper.
		return nil, errors.New("no rule for user ids: a token's sub must be checked against the API's")
	}
	if cfg.Clock == nil {
		cfg.Clock = sale.SystemClock{}
	}
	s := &Shop{cfg: cfg}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the files again. On error the keys read before stay in use.
func (s *Shop) Reload() error {
	k, err := readShopKeys(s.cfg)
	if err != nil {
		return err
	}
	s.keys.Store(k)
	s.seen.forget() // a key taken away must stop working at once
	return nil
}

// Verify implements Verifier.
func (s *Shop) Verify(_ context.Context, token string) (Identity, error) {
	now := s.cfg.Clock.Now()
	if id, ok := s.seen.get(token, now); ok {
		return id, nil
	}
	k := s.keys.Load()
	var claims jwt.RegisteredClaims
	if _, err := k.parser.ParseWithClaims(token, &claims, k.keyfunc); err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if err := s.cfg.ValidUser(claims.Subject); err != nil {
		return Identity{}, fmt.Errorf("%w: its sub %q is not a user id: %v", ErrInvalidToken, claims.Subject, err)
	}
	id := Identity{User: claims.Subject, Expires: claims.ExpiresAt.Add(Leeway)}
	s.seen.put(token, id)
	return id, nil
}

func readShopKeys(cfg ShopConfig) (*shopKeys, error) {
	var public jwt.Keyfunc
	var algs []string
	if cfg.KeysFile != "" {
		raw, err := os.ReadFile(cfg.KeysFile)
		if err != nil {
			return nil, fmt.Errorf("read the shop's keys: %w", err)
		}
		public, algs, err = publicKeys(raw)
		if err != nil {
			return nil, fmt.Errorf("the shop's keys in %s: %w", cfg.KeysFile, err)
		}
	}
	var secret []byte
	if cfg.SecretFile != "" {
		raw, err := os.ReadFile(cfg.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("read the shop's HS256 secret: %w", err)
		}
		// A secret file often ends in a newline its author never meant.
		secret = bytes.TrimRight(raw, "\r\n")
		if len(secret) < MinSecret {
			return nil, fmt.Errorf("the shop's HS256 secret in %s is %d bytes; at least %d are needed", cfg.SecretFile, len(secret), MinSecret)
		}
		algs = append(algs, jwt.SigningMethodHS256.Alg())
	}
	keyfunc := func(tok *jwt.Token) (any, error) {
		// The parser has already refused an algorithm outside algs; each
		// kind of key is then handed only to its own algorithms, so a
		// public key never serves as an HMAC secret.
		if _, hmac := tok.Method.(*jwt.SigningMethodHMAC); hmac {
			if secret == nil {
				return nil, errors.New("no HS256 secret is configured")
			}
			return secret, nil
		}
		if public == nil {
			return nil, errors.New("no public key is configured")
		}
		return public(tok)
	}
	return &shopKeys{
		parser: jwt.NewParser(
			jwt.WithValidMethods(algs),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
			// One spelling per token: base64url's unused bits must be zero.
			jwt.WithStrictDecoding(),
			jwt.WithTimeFunc(cfg.Clock.Now),
		),
		keyfunc: keyfunc,
	}, nil
}

// publicKeys reads a JWKS or PEM public keys, and the algorithms their
// types allow.
func publicKeys(raw []byte) (jwt.Keyfunc, []string, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return jwks(trimmed)
	}
	var keys []any
	for rest := trimmed; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(bytes.TrimSpace(rest)) > 0 {
				return nil, nil, errors.New("neither a JWKS (JSON) nor PEM blocks: what follows the last PEM block is something else")
			}
			break
		}
		k, err := pemKey(block)
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, nil, errors.New("no key: neither a JWKS (JSON) nor PEM blocks")
	}
	var algs []string
	set := jwt.VerificationKeySet{}
	for _, k := range keys {
		a, err := algsOf(k)
		if err != nil {
			return nil, nil, err
		}
		algs = append(algs, a...)
		set.Keys = append(set.Keys, k)
	}
	// PEM keys have no kid: a token is tried against each (golang-jwt
	// refuses a key of the wrong type for the token's algorithm).
	return func(*jwt.Token) (any, error) { return set, nil }, unique(algs), nil
}

func pemKey(b *pem.Block) (any, error) {
	switch b.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(b.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(b.Bytes)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	}
	return nil, fmt.Errorf("a PEM %q block: want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE (never a private key)", b.Type)
}

// algsOf is what a key may verify: the algorithm is the key's, not the
// token's to choose.
func algsOf(k any) ([]string, error) {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("an RSA key of %d bits: at least 2048 are needed", k.N.BitLen())
		}
		return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return []string{"ES256"}, nil
		case elliptic.P384():
			return []string{"ES384"}, nil
		case elliptic.P521():
			return []string{"ES512"}, nil
		}
	case ed25519.PublicKey:
		return []string{"EdDSA"}, nil
	}
	return nil, fmt.Errorf("a key of type %T, which this server cannot verify with", k)
}

// jwks reads a JWK Set with keyfunc, which picks a token's key by kid and
// checks the JWK's own alg when it has one.
func jwks(raw []byte) (jwt.Keyfunc, []string, error) {
	var probe struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, nil, fmt.Errorf("not a JWKS: %w", err)
	}
	if len(probe.Keys) == 0 {
		return nil, nil, errors.New("a JWKS with no keys")
	}
	// keyfunc would take a private JWK's public half without a word; a
	// private key here is a secret in the wrong place, refused as in PEM.
	for i, key := range probe.Keys {
		if _, private := key["d"]; private {
			return nil, nil, fmt.Errorf("the JWKS's key %d (kid %s) is a private key: give only the public keys", i, key["kid"])
		}
	}
	k, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("not a JWKS: %w", err)
	}
	set, err := k.VerificationKeySet(context.Background())
	if err != nil {
		return nil, nil, fmt.Errorf("the JWKS: %w", err)
	}
	if len(set.Keys) != len(probe.Keys) {
		return nil, nil, fmt.Errorf("the JWKS has %d keys, of which %d can verify a signature (a private or symmetric key, or an unknown type?)", len(probe.Keys), len(set.Keys))
	}
	var algs []string
	for _, key := range set.Keys {
		a, err := algsOf(key)
		if err != nil {
			return nil, nil, fmt.Errorf("the JWKS: %w", err)
		}
		algs = append(algs, a...)
	}
	return k.Keyfunc, unique(algs), nil
}

func unique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
