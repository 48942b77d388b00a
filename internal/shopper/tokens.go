package shopper

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/golang-jwt/jwt/v5"
)

// TokenTTL is how long a shopper token is valid, and how long each signing
// secret signs (its period): a flash sale is over well within a day.
const TokenTTL = 24 * time.Hour

// issuer is the iss of every shopper token: the sale's own, which no shop's
// token carries, so one kind is never taken for the other.
const issuer = "flashsale"

// Tokens signs and checks the sale's own shopper tokens.
//
// Secrets rotate by the clock, with nothing to run: the secret of period p
// (TokenTTL long, counted from the Unix epoch) signs every token issued in
// it, and is named in the token's kid. The store keeps each period's secret
// under its kid; the first server to need one makes it, and the others read
// it back (sale.Keyring), so all servers on one database sign and check
// alike. A secret is accepted from its period's start until two periods
// later, the latest any token it signed can expire: the tokens of the
// period before keep working across a rotation, and the secret of two
// periods ago is retired, its tokens refused whatever they claim.
type Tokens struct {
	keys   sale.Keyring
	clock  sale.Clock
	parser *jwt.Parser

	mu      sync.Mutex
	secrets map[string][]byte // by kid, the periods in use
	current atomic.Pointer[signing]
	seen    cache
}

// NewTokens returns the sale's tokens over the secrets keys keeps.
func NewTokens(keys sale.Keyring, clock sale.Clock) *Tokens {
	if clock == nil {
		clock = sale.SystemClock{}
	}
	return &Tokens{
		keys:  keys,
		clock: clock,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
			// One spelling per token: base64url's unused bits must be zero.
			jwt.WithStrictDecoding(),
			jwt.WithTimeFunc(clock.Now),
		),
		secrets: make(map[string][]byte),
	}
}

// Issue returns the token for user, issued at at. It is a function of user,
// at and the secret of at's period: the same call gives the same token, which
// is how a replayed first reserve gives the token it gave the first time.
func (t *Tokens) Issue(ctx context.Context, user string, at time.Time) (string, error) {
	at = at.UTC().Truncate(time.Second) // NumericDate's precision
	sg, err := t.signer(ctx, at)
	if err != nil {
		return "", fmt.Errorf("issue a token for %s: %w", user, err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   user,
		IssuedAt:  jwt.NewNumericDate(at),
		ExpiresAt: jwt.NewNumericDate(at.Add(TokenTTL)),
	})
	tok.Header["kid"] = sg.kid
	s, err := tok.SignedString(sg.secret)
	if err != nil {
		return "", fmt.Errorf("issue a token for %s: %w", user, err)
	}
	return s, nil
}

// Ready makes sure the secret that signs now is at hand, so that a reserve
// is not followed by a token that cannot be signed. A server calls it before
// a first reserve; it costs nothing once the period's secret is known.
func (t *Tokens) Ready(ctx context.Context) error {
	_, err := t.signer(ctx, t.clock.Now())
	return err
}

// signing is a period's secret, with its kid and its bounds.
type signing struct {
	kid        string
	start, end time.Time
	secret     []byte
}

// signer is the period at falls in. Every new user's answer signs with the
// current one, so it is kept at hand: one atomic load, with no lock and no
// kid to format, finds it.
func (t *Tokens) signer(ctx context.Context, at time.Time) (*signing, error) {
	if c := t.current.Load(); c != nil && !at.Before(c.start) && at.Before(c.end) {
		return c, nil
	}
	kid := kidOf(at)
	secret, err := t.secret(ctx, kid)
	if err != nil {
		return nil, err
	}
	start, _ := periodOf(kid)
	c := &signing{kid: kid, start: start, end: start.Add(TokenTTL), secret: secret}
	// The newest period stays at hand; a replay signing for an older one
	// does not displace it.
	for {
		old := t.current.Load()
		if old != nil && !start.After(old.start) || t.current.CompareAndSwap(old, c) {
			return c, nil
		}
	}
}

// Verify implements Verifier.
func (t *Tokens) Verify(ctx context.Context, token string) (Identity, error) {
	now := t.clock.Now()
	if id, ok := t.seen.get(token, now); ok {
		return id, nil
	}
	var claims jwt.RegisteredClaims
	var retires time.Time
	_, err := t.parser.ParseWithClaims(token, &claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		start, ok := periodOf(kid)
		retires = start.Add(2 * TokenTTL)
		if !ok {
			return nil, fmt.Errorf("unknown key %q", kid)
		}
		// Accepted from its start (give or take the clocks' leeway) until
		// the last token it signed has expired.
		if now.Add(Leeway).Before(start) || !now.Before(retires) {
			return nil, fmt.Errorf("key %q is retired", kid)
		}
		return t.secret(ctx, kid)
	})
	if err != nil {
		if errors.Is(err, sale.ErrUnavailable) {
			return Identity{}, err
		}
		return Identity{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if claims.Subject == "" {
		return Identity{}, fmt.Errorf("%w: it names no user (sub)", ErrInvalidToken)
	}
	// Remembered until it expires, and never past its key's retirement.
	id := Identity{User: claims.Subject, Expires: claims.ExpiresAt.Add(Leeway)}
	if id.Expires.After(retires) {
		id.Expires = retires
	}
	t.seen.put(token, id)
	return id, nil
}

// secret is the secret of period kid, from memory or from the store.
func (t *Tokens) secret(ctx context.Context, kid string) ([]byte, error) {
	t.mu.Lock()
	s, ok := t.secrets[kid]
	t.mu.Unlock()
	if ok {
		return s, nil
	}
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh) // never fails (crypto/rand)
	s, err := t.keys.SigningKey(ctx, kid, fresh)
	if err != nil {
		return nil, fmt.Errorf("read signing key %s: %w", kid, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// Only the periods a token may still name are kept.
	now := t.clock.Now()
	for k := range t.secrets {
		if start, _ := periodOf(k); !now.Before(start.Add(2 * TokenTTL)) {
			delete(t.secrets, k)
		}
	}
	t.secrets[kid] = s
	return s, nil
}

// kidOf names the period at falls in by its start, in Unix seconds.
func kidOf(at time.Time) string {
	p := at.Unix() / int64(TokenTTL/time.Second)
	return "k" + strconv.FormatInt(p*int64(TokenTTL/time.Second), 10)
}

// periodOf is the start of the period kid names, if kid names one.
func periodOf(kid string) (time.Time, bool) {
	digits, ok := strings.CutPrefix(kid, "k")
	if !ok || digits == "" || len(digits) > 12 {
		return time.Time{}, false
	}
	secs, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || secs < 0 || secs%int64(TokenTTL/time.Second) != 0 || strconv.FormatInt(secs, 10) != digits {
		return time.Time{}, false
	}
	return time.Unix(secs, 0).UTC(), true
}
