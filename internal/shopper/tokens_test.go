package shopper_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/shopper"
	"github.com/golang-jwt/jwt/v5"
)

// issue issues user's token at at, failing t if it cannot.
func issue(t testing.TB, tokens *shopper.Tokens, user string, at time.Time) string {
	t.Helper()
	tok, err := tokens.Issue(t.Context(), user, at)
	if err != nil {
		t.Fatalf("issue %s's token: %v", user, err)
	}
	return tok
}

// wantUser fails t unless tokens take tok as user's.
func wantUser(t testing.TB, v shopper.Verifier, what, tok, user string) shopper.Identity {
	t.Helper()
	id, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("%s: refused: %v", what, err)
	}
	if id.User != user {
		t.Fatalf("%s: names %q, want %q", what, id.User, user)
	}
	return id
}

// claimsAt are the claims of the sale's token for user issued at at.
func claimsAt(user string, at time.Time) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{
		Issuer: "flashsale", Subject: user,
		IssuedAt: jwt.NewNumericDate(at), ExpiresAt: jwt.NewNumericDate(at.Add(shopper.TokenTTL)),
	}
}

func TestTokensRoundTrip(t *testing.T) {
	keys := newKeyring()
	clock := clocktest.New(t0)
	tokens := shopper.NewTokens(keys, clock)
	tok := issue(t, tokens, "alice", clock.Now())
	id := wantUser(t, tokens, "alice's token", tok, "alice")
	if want := t0.Add(shopper.TokenTTL + shopper.Leeway); !id.Expires.Equal(want) {
		t.Errorf("alice's token is good until %v, want %v (24h and the leeway)", id.Expires, want)
	}
	h, _, _ := parts(t, tok)
	if alg, kid := headerOf(t, h); alg != "HS256" || kid != kidAt(t0) {
		t.Errorf("header alg %q kid %q, want HS256 and %s", alg, kid, kidAt(t0))
	}
	if got := keys.ids(); !slices.Equal(got, []string{kidAt(t0)}) {
		t.Errorf("the keyring keeps %v, want only the period's secret %s", got, kidAt(t0))
	}
	// Another server on the same store checks it with no step of its own.
	other := shopper.NewTokens(keys, clock)
	wantUser(t, other, "alice's token on another server", tok, "alice")
	// Another server's token is checked here too.
	wantUser(t, tokens, "bob's token from another server", issue(t, other, "bob", clock.Now()), "bob")
}

func TestTokensAreAFunctionOfUserAndTime(t *testing.T) {
	keys := newKeyring()
	clock := clocktest.New(t0)
	tokens := shopper.NewTokens(keys, clock)
	at := t0.Add(123456789 * time.Nanosecond)
	first := issue(t, tokens, "alice", at)
	if again := issue(t, tokens, "alice", at); again != first {
		t.Errorf("the same user at the same time got two tokens:\n%s\n%s", first, again)
	}
	// NumericDate has seconds: within one second is the same token.
	if within := issue(t, tokens, "alice", at.Truncate(time.Second)); within != first {
		t.Errorf("the same second gave another token")
	}
	// Another server signs alike: the first reserve's replay, answered
	// elsewhere, carries the same token.
	if elsewhere := issue(t, shopper.NewTokens(keys, clock), "alice", at); elsewhere != first {
		t.Errorf("another server issued another token for the same user and time")
	}
	if later := issue(t, tokens, "alice", at.Add(time.Second)); later == first {
		t.Errorf("a second later gave the same token")
	}
	bob := issue(t, tokens, "bob", at)
	if bob == first {
		t.Fatal("alice and bob got the same token")
	}
	wantUser(t, tokens, "bob's token", bob, "bob")
}

func TestTokensRefuseTampering(t *testing.T) {
	keys := newKeyring()
	clock := clocktest.New(t0)
	tokens := shopper.NewTokens(keys, clock)
	alice := issue(t, tokens, "alice", t0)
	mallory := issue(t, tokens, "mallory", t0)
	ah, ap, as := parts(t, alice)
	_, mp, ms := parts(t, mallory)
	// mallory's own payload, rewritten to name alice, keeping her signature.
	renamed := segments(t, map[string]any{"alg": "HS256", "kid": kidAt(t0), "typ": "JWT"}, claimsAt("alice", t0), ms)
	for what, tok := range map[string]string{
		"alice's header and signature on mallory's payload": ah + "." + mp + "." + as,
		"mallory's signature on alice's payload":            ah + "." + ap + "." + ms,
		"alice's token with its signature changed":          flipSig(t, alice),
		"mallory's claims rewritten to name alice":          renamed,
		"alice's token with no signature":                   ah + "." + ap + ".",
		"alice's token with no signature part":              ah + "." + ap,
		"alice's token with a fourth part":                  alice + "." + as,
		"alice's token with a trailing dot":                 alice + ".",
		"alice's token twice":                               alice + alice,
		"alice's token, truncated":                          alice[:len(alice)-10],
		"empty":                                             "",
		"dots":                                              "..",
	} {
		_, err := tokens.Verify(t.Context(), tok)
		wantInvalid(t, what, err)
	}
	// Neither forgery poisoned what is remembered.
	wantUser(t, tokens, "alice's token", alice, "alice")
	wantUser(t, tokens, "mallory's token", mallory, "mallory")
}

func TestTokensExpire(t *testing.T) {
	keys := newKeyring()
	clock := clocktest.New(t0)
	tokens := shopper.NewTokens(keys, clock)
	tok := issue(t, tokens, "alice", t0)
	wantUser(t, tokens, "a new token", tok, "alice") // remembered from here on
	clock.Set(t0.Add(shopper.TokenTTL + shopper.Leeway - time.Second))
	wantUser(t, tokens, "a token within its leeway", tok, "alice")
	clock.Set(t0.Add(shopper.TokenTTL + shopper.Leeway))
	_, err := tokens.Verify(t.Context(), tok)
	wantInvalid(t, "a token past exp and the leeway", err)
	// A server that never saw it refuses it too.
	_, err = shopper.NewTokens(keys, clock).Verify(t.Context(), tok)
	wantInvalid(t, "a token past exp and the leeway, on another server", err)
}

func TestTokensOfARetiredKeyAreRefused(t *testing.T) {
	keys := newKeyring()
	clock := clocktest.New(t0)
	tokens := shopper.NewTokens(keys, clock)
	issue(t, tokens, "alice", t0) // the period's secret is made
	kid := kidAt(t0)
	secret := keys.secret(t, kid)
	// Signed by the period's own secret, but good for a month: only the
	// key's retirement stops it.
	forever := mint(t, jwt.SigningMethodHS256, secret, jwt.RegisteredClaims{
		Issuer: "flashsale", Subject: "alice",
		IssuedAt: jwt.NewNumericDate(t0), ExpiresAt: jwt.NewNumericDate(t0.Add(30 * 24 * time.Hour)),
	}, map[string]any{"kid": kid})
	id := wantUser(t, tokens, "a long token of the current key", forever, "alice")
	retires := periodStart(t0).Add(2 * shopper.TokenTTL)
	if id.Expires.After(retires) {
		t.Errorf("a token is remembered until %v, past its key's retirement at %v", id.Expires, retires)
	}
	clock.Set(retires.Add(-time.Second))
	wantUser(t, tokens, "a long token the second before its key retires", forever, "alice")
	clock.Set(retires)
	_, err := tokens.Verify(t.Context(), forever)
	wantInvalid(t, "a token of a retired key", err)
	_, err = shopper.NewTokens(keys, clock).Verify(t.Context(), forever)
	wantInvalid(t, "a token of a retired key, on a server that never saw it", err)
	// The current key works.
	wantUser(t, tokens, "a token of the current key", issue(t, tokens, "alice", clock.Now()), "alice")
}

func TestTokensSurviveARotation(t *testing.T) {
	keys := newKeyring()
	late := periodStart(t0).Add(shopper.TokenTTL - time.Second) // the last second of period p
	clock := clocktest.New(late)
	tokens := shopper.NewTokens(keys, clock)
	old := issue(t, tokens, "alice", late)
	wantUser(t, tokens, "a token of period p", old, "alice")

	clock.Set(periodStart(t0).Add(shopper.TokenTTL + time.Hour)) // an hour into p+1
	wantUser(t, tokens, "a token of period p, in p+1", old, "alice")
	wantUser(t, shopper.NewTokens(keys, clock), "a token of period p, in p+1, on a new server", old, "alice")
	fresh := issue(t, tokens, "alice", clock.Now())
	wantUser(t, tokens, "a token of period p+1", fresh, "alice")
	h0, _, _ := parts(t, old)
	h1, _, _ := parts(t, fresh)
	if kidOf(t, h0) == kidOf(t, h1) {
		t.Errorf("tokens of periods p and p+1 share the kid %s", kidOf(t, h0))
	}
	if kidOf(t, h1) != kidAt(clock.Now()) {
		t.Errorf("a token of p+1 names %s, want %s", kidOf(t, h1), kidAt(clock.Now()))
	}
	if got := keys.ids(); len(got) != 2 || got[0] == got[1] {
		t.Errorf("the keyring keeps %v, want one secret for each period", got)
	}
	if a, b := keys.secret(t, kidOf(t, h0)), keys.secret(t, kidOf(t, h1)); string(a) == string(b) {
		t.Error("periods p and p+1 are signed by the same secret")
	}
}

func kidOf(t testing.TB, header string) string {
	t.Helper()
	_, kid := headerOf(t, header)
	return kid
}

// headerOf reads the alg and kid of a token's header part.
func headerOf(t testing.TB, header string) (alg, kid string) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Alg, Kid string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Alg, h.Kid
}

func TestTokensRefuseUnknownKids(t *testing.T) {
	keys := newKeyring()
	clock := clocktest.New(t0)
	tokens := shopper.NewTokens(keys, clock)
	issue(t, tokens, "alice", t0)
	secret := keys.secret(t, kidAt(t0))
	start := periodStart(t0).Unix()
	day := int64(shopper.TokenTTL / time.Second)
	for what, kid := range map[string]any{
		"no kid":                     nil,
		"an empty kid":               "",
		"a kid that is a number":     start,
		"a kid of another form":      "key-1",
		"a kid with no digits":       "k",
		"a kid off a period's start": "k" + strconv.FormatInt(start+1, 10),
		"a kid with a leading zero":  "k0" + strconv.FormatInt(start, 10),
		"a kid with a sign":          "k+" + strconv.FormatInt(start, 10),
		"a negative kid":             "k-" + strconv.FormatInt(day, 10),
		"a kid of the epoch":         "k0",
		"a kid far in the future":    "k" + strconv.FormatInt(start+400*day, 10),
		"the next period's kid":      "k" + strconv.FormatInt(start+day, 10),
		"a kid too long to be one":   "k" + strconv.FormatInt(start, 10) + "0000000000",
		"a path for a kid":           "../../etc/passwd",
	} {
		header := map[string]any{"kid": kid}
		if kid == nil {
			header = map[string]any{}
		}
		// Signed with the current secret: only the kid is wrong.
		tok := mint(t, jwt.SigningMethodHS256, secret, claimsAt("alice", t0), header)
		_, err := tokens.Verify(t.Context(), tok)
		wantInvalid(t, what, err)
	}
	// No kid a token named made the store keep a secret: a stranger cannot
	// fill the keyring.
	if got := keys.ids(); !slices.Equal(got, []string{kidAt(t0)}) {
		t.Errorf("after tokens with made-up kids the keyring keeps %v, want only %s", got, kidAt(t0))
	}
}

func TestTokensRefuseOtherAlgorithmsAndClaims(t *testing.T) {
	keys := newKeyring()
	clock := clocktest.New(t0)
	tokens := shopper.NewTokens(keys, clock)
	issue(t, tokens, "alice", t0)
	kid := map[string]any{"kid": kidAt(t0)}
	secret := keys.secret(t, kidAt(t0))
	good := claimsAt("alice", t0)
	noExp := good
	noExp.ExpiresAt = nil
	noSub := good
	noSub.Subject = ""
	otherIss := good
	otherIss.Issuer = "https://shop.example"
	noIss := good
	noIss.Issuer = ""
	future := good
	future.IssuedAt = jwt.NewNumericDate(t0.Add(shopper.Leeway + time.Minute))
	notYet := good
	notYet.NotBefore = jwt.NewNumericDate(t0.Add(shopper.Leeway + time.Minute))
	for what, tok := range map[string]string{
		"alg none":                     unsigned(t, good, kid),
		"alg none, signature kept":     segments(t, map[string]any{"alg": "none", "kid": kidAt(t0)}, good, "") + lastPart(mint(t, jwt.SigningMethodHS256, secret, good, kid)),
		"alg NONE":                     segments(t, map[string]any{"alg": "NONE", "kid": kidAt(t0)}, good, ""),
		"HS512 with the right secret":  mint(t, jwt.SigningMethodHS512, secret, good, kid),
		"HS384 with the right secret":  mint(t, jwt.SigningMethodHS384, secret, good, kid),
		"no exp":                       mint(t, jwt.SigningMethodHS256, secret, noExp, kid),
		"no sub":                       mint(t, jwt.SigningMethodHS256, secret, noSub, kid),
		"another issuer":               mint(t, jwt.SigningMethodHS256, secret, otherIss, kid),
		"no issuer":                    mint(t, jwt.SigningMethodHS256, secret, noIss, kid),
		"issued in the future":         mint(t, jwt.SigningMethodHS256, secret, future, kid),
		"not before a time to come":    mint(t, jwt.SigningMethodHS256, secret, notYet, kid),
		"exp a string":                 mint(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"iss": "flashsale", "sub": "alice", "exp": "never"}, kid),
		"sub a number":                 mint(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"iss": "flashsale", "sub": 42, "exp": t0.Add(time.Hour).Unix()}, kid),
		"signed by another secret":     mint(t, jwt.SigningMethodHS256, []byte("another secret of thirty-two bytes!!"), good, kid),
		"signed by an RSA key instead": mint(t, jwt.SigningMethodRS256, rsaKey(), good, kid),
	} {
		_, err := tokens.Verify(t.Context(), tok)
		wantInvalid(t, what, err)
	}
}

func lastPart(tok string) string {
	for i := len(tok) - 1; i >= 0; i-- {
		if tok[i] == '.' {
			return tok[i+1:]
		}
	}
	return tok
}

func TestTokensWhenTheKeyringIsDown(t *testing.T) {
	keys := newKeyring()
	clock := clocktest.New(t0)
	first := shopper.NewTokens(keys, clock)
	alice := issue(t, first, "alice", t0)
	wantUser(t, first, "alice's token", alice, "alice")
	keys.setDown(true)

	// A server that has not read the period's secret yet cannot check a
	// token: the store is down, which is not the token's fault.
	second := shopper.NewTokens(keys, clock)
	_, err := second.Verify(t.Context(), alice)
	if !errors.Is(err, sale.ErrUnavailable) || errors.Is(err, shopper.ErrInvalidToken) {
		t.Errorf("verify with the keyring down: %v, want sale.ErrUnavailable and not ErrInvalidToken", err)
	}
	if _, err := second.Issue(t.Context(), "bob", t0); !errors.Is(err, sale.ErrUnavailable) {
		t.Errorf("issue with the keyring down: %v, want sale.ErrUnavailable", err)
	}
	if err := second.Ready(t.Context()); !errors.Is(err, sale.ErrUnavailable) {
		t.Errorf("ready with the keyring down: %v, want sale.ErrUnavailable", err)
	}
	// What needs no secret is refused as invalid still.
	_, err = second.Verify(t.Context(), "not a token")
	wantInvalid(t, "garbage with the keyring down", err)
	_, err = second.Verify(t.Context(), unsigned(t, claimsAt("alice", t0), map[string]any{"kid": kidAt(t0)}))
	wantInvalid(t, "alg none with the keyring down", err)
	// A server that knows the secret goes on.
	wantUser(t, first, "alice's token where the secret is known", alice, "alice")
	wantUser(t, first, "a new token where the secret is known", issue(t, first, "carol", t0), "carol")

	keys.setDown(false)
	wantUser(t, second, "alice's token once the keyring is back", alice, "alice")
}
