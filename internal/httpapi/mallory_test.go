package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/shopper"
	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/golang-jwt/jwt/v5"
)

// The mallory suite: every operation about a shopper, tried by everyone
// who is not that shopper, on every store and across two servers. Each
// attempt must be refused with the answer the document gives, an answer
// that tells nothing (the same as for a user or reservation that does not
// exist), and change nothing.

// identityT0 is when these tests' sales happen: the middle of a signing
// period.
var identityT0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// identityRig is one stack seen from outside: requests made by hand, by
// anyone, spread over the stack's servers in turn.
type identityRig struct {
	t *testing.T
	s *testkit.Stack
	n atomic.Int64
}

func newIdentityRig(t *testing.T, s *testkit.Stack) *identityRig { return &identityRig{t: t, s: s} }

// exchange is one request and the answer to it.
type exchange struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

func (e exchange) String() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, e.body)
}

// problem is the answer's problem type, or "" for none.
func (e exchange) problem() generated.ProblemType {
	var p generated.Problem
	if json.Unmarshal(e.body, &p) != nil {
		return ""
	}
	return p.Type
}

// shopperAnswer is what a reserve answers a shopper.
type shopperAnswer struct {
	ReservationID string `json:"reservation_id"`
	Token         string `json:"shopper_token"`
	Position      int    `json:"waitlist_position"`
	State         string `json:"state"`
	Reservation   *struct {
		ID     string `json:"reservation_id"`
		Status string `json:"status"`
	} `json:"reservation"`
}

func (e exchange) answer(t *testing.T) shopperAnswer {
	t.Helper()
	var a shopperAnswer
	if err := json.Unmarshal(e.body, &a); err != nil {
		t.Fatalf("%v: %v", e, err)
	}
	return a
}

func bearer(token string) []string { return []string{"Bearer " + token} }

// send makes one request on the next server in turn.
func (r *identityRig) send(method, path, body string, auth []string, header ...string) exchange {
	r.t.Helper()
	return r.sendTo(r.s.Next(int(r.n.Add(1))), method, path, body, auth, header...)
}

// sendTo makes one request on srv, with auth as its Authorization headers
// (none, one or several) and header as name, value pairs, through the
// server's bare client, which holds the answer to the document. An event
// stream, which should not be opened, is read for a moment and closed.
func (r *identityRig) sendTo(srv *testkit.Server, method, path, body string, auth []string, header ...string) exchange {
	t := r.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, rd)
	if err != nil {
		panic(err) // the test's own path is malformed
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// Errors are reported, not fatal: crowds of goroutines send too. The
	// answer of status 0 then fails whatever the caller wanted.
	resp, err := srv.BareHTTP.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return exchange{method: method, path: path, header: http.Header{}, body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	var b []byte
	if resp.Header.Get("Content-Type") == "text/event-stream" {
		b = readAWhile(resp.Body, 300*time.Millisecond, cancel)
	} else if b, err = io.ReadAll(resp.Body); err != nil {
		t.Errorf("%s %s: %v", method, path, err)
	}
	return exchange{method: method, path: path, status: resp.StatusCode, header: resp.Header, body: b}
}

// readAWhile reads body for d, then stops it with cancel.
func readAWhile(body io.Reader, d time.Duration, cancel func()) []byte {
	var buf lockedBuffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(&buf, body)
	}()
	time.Sleep(d)
	cancel()
	<-done
	return []byte(buf.String())
}

// lockedBuffer is a buffer one goroutine writes while another reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// want fails t unless e is status with a problem of type typ (any type
// when typ is "").
func (r *identityRig) want(e exchange, status int, typ generated.ProblemType) {
	r.t.Helper()
	if e.status != status || (typ != "" && e.problem() != typ) {
		r.t.Fatalf("%v\nwant %d %s", e, status, typ)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(e.header.Get("WWW-Authenticate"), `Bearer realm="flashsale"`) {
		r.t.Fatalf("%v\na 401 with WWW-Authenticate %q", e, e.header.Get("WWW-Authenticate"))
	}
}

func (r *identityRig) admin() []string { return bearer(r.s.AdminToken) }

// initialize starts a sale of total units, as the admin.
func (r *identityRig) initialize(total int, reset bool) {
	r.t.Helper()
	r.want(r.send(http.MethodPost, "/initialize", fmt.Sprintf(`{"total_inventory":%d,"reset":%t}`, total, reset), r.admin()), http.StatusOK, "")
}

// reserve reserves for user with auth, wanting status (201 or 202).
func (r *identityRig) reserve(user string, auth []string, status int) shopperAnswer {
	r.t.Helper()
	e := r.send(http.MethodPost, "/reserve", `{"user_id":"`+user+`"}`, auth)
	r.want(e, status, "")
	return e.answer(r.t)
}

// claim reserves a name new to the sale with no token, and returns the
// answer, which must carry the name's token.
func (r *identityRig) claim(user string, status int) shopperAnswer {
	r.t.Helper()
	a := r.reserve(user, nil, status)
	if a.Token == "" {
		r.t.Fatalf("%s's first reserve carries no shopper_token", user)
	}
	return a
}

// randomReservationID is a reservation id no reservation has.
func randomReservationID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

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

// ownScene sets up a sale with the sale's own tokens. The stack's clock
// starts 48 hours before identityT0: a shopper reserves then, so the store
// keeps the secret of that period, which is retired by identityT0.
func ownScene(t *testing.T, r *identityRig) scene {
	t.Helper()
	s := r.s
	r.initialize(1, false)
	ghost := r.claim("ghost", http.StatusCreated)
	retiredKid, _ := tokenParts(t, ghost.Token)
	retired := signingKey(t, s, retiredKid, ghost.Token)

	s.Clock.Set(identityT0)
	r.initialize(2, true)
	sc := scene{own: true, tokens: map[string]string{}}
	alice := r.claim("alice", http.StatusCreated)
	bob := r.claim("bob", http.StatusCreated)
	carol := r.claim("carol", http.StatusAccepted)
	mallory := r.claim("mallory", http.StatusAccepted)
	sc.aliceRes, sc.bobRes = alice.ReservationID, bob.ReservationID
	for u, a := range map[string]shopperAnswer{"alice": alice, "bob": bob, "carol": carol, "mallory": mallory} {
		sc.tokens[u] = a.Token
	}
	kid, _ := tokenParts(t, alice.Token)
	if kid == retiredKid {
		t.Fatalf("alice's token has the kid %s of two periods ago", kid)
	}
	current := signingKey(t, s, kid, alice.Token)
	now := identityT0
	hs256 := func(secret []byte, c jwt.RegisteredClaims, kid string) string {
		return mintToken(t, jwt.SigningMethodHS256, secret, c, kid)
	}
	good := shopperTokenClaims("alice", now, now.Add(shopper.TokenTTL))
	otherIssuer := good
	otherIssuer.Issuer = "https://shop.example"
	prevKid := "k" + fmt.Sprint(now.Truncate(24*time.Hour).Add(-24*time.Hour).Unix())
	shopKey, _ := identityRSA()

	sc.attacks = append([]attacker{
		{"mallory's token", bearer(mallory.Token), asMallory},
		{"no token", nil, asNobody},
	}, malformed(alice.Token, mallory.Token)...)
	for i, f := range forgedSignatures(alice.Token) {
		sc.attacks = append(sc.attacks, attacker{fmt.Sprintf("alice's token, signature forged (%d)", i), bearer(f), asInvalid})
	}
	for name, tok := range map[string]string{
		"expired, signed by the current key":          hs256(current, shopperTokenClaims("alice", now.Add(-2*time.Hour), now.Add(-time.Hour)), kid),
		"alg none":                                    algNone(t, good, kid, ""),
		"alg none, alice's signature kept":            algNone(t, good, kid, alice.Token[strings.LastIndexByte(alice.Token, '.')+1:]),
		"another issuer, signed by the current key":   hs256(current, otherIssuer, kid),
		"HS512, signed by the current key":            mintToken(t, jwt.SigningMethodHS512, current, good, kid),
		"an unknown kid, a guessed secret":            hs256([]byte("guessed-secret-guessed-secret-00"), good, "k1"),
		"an unknown kid, the current key":             hs256(current, good, "key-1"),
		"no kid, the current key":                     hs256(current, good, ""),
		"the previous period's kid, a guessed secret": hs256([]byte("guessed-secret-guessed-secret-00"), good, prevKid),
		"a key retired since, good for another day":   hs256(retired, shopperTokenClaims("alice", now.Add(-47*time.Hour), now.Add(24*time.Hour)), retiredKid),
		"ghost's token of two periods ago":            ghost.Token,
		"RS256 by a key of the test's":                mintToken(t, jwt.SigningMethodRS256, shopKey, good, kid),
		"the admin token with a letter more":          "Bearer x" + s.AdminToken,
	} {
		auth := bearer(tok)
		if strings.HasPrefix(tok, "Bearer ") {
			auth = []string{tok}
		}
		sc.attacks = append(sc.attacks, attacker{name, auth, asInvalid})
	}
	return sc
}

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

// shopScene sets up a sale on the shop's tokens: each shopper comes with
// the shop's token, the first reserve too.
func shopScene(t *testing.T, r *identityRig, k *shopKeys) scene {
	t.Helper()
	r.initialize(2, false)
	sc := scene{tokens: map[string]string{}}
	for _, u := range []string{"alice", "bob", "carol", "mallory"} {
		sc.tokens[u] = k.token(t, u)
	}
	// With the shop's tokens the body may leave user_id out.
	alice := r.reserve("alice", bearer(sc.tokens["alice"]), http.StatusCreated)
	e := r.send(http.MethodPost, "/reserve", `{}`, bearer(sc.tokens["bob"]))
	r.want(e, http.StatusCreated, "")
	bob := e.answer(t)
	r.reserve("carol", bearer(sc.tokens["carol"]), http.StatusAccepted)
	r.reserve("mallory", bearer(sc.tokens["mallory"]), http.StatusAccepted)
	if alice.Token != "" || bob.Token != "" {
		t.Fatal("a reserve with the shop's token was answered with a token of the sale's")
	}
	sc.aliceRes, sc.bobRes = alice.ReservationID, bob.ReservationID

	rs := func(c jwt.RegisteredClaims, kid string) string {
		return mintToken(t, jwt.SigningMethodRS256, k.current, c, kid)
	}
	with := func(change func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
		c := k.claims("alice")
		change(&c)
		return c
	}
	_, stranger := identityRSA()
	alicesTok := sc.tokens["alice"]
	sc.attacks = append([]attacker{
		{"mallory's token", bearer(sc.tokens["mallory"]), asMallory},
		{"no token", nil, asNobody},
	}, malformed(alicesTok, sc.tokens["mallory"])...)
	for i, f := range forgedSignatures(alicesTok) {
		sc.attacks = append(sc.attacks, attacker{fmt.Sprintf("alice's token, signature forged (%d)", i), bearer(f), asInvalid})
	}
	for name, tok := range map[string]string{
		"expired": rs(with(func(c *jwt.RegisteredClaims) {
			c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-2*time.Hour)), jwt.NewNumericDate(time.Now().Add(-time.Hour))
		}), "shop-2026"),
		"no exp":           rs(with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }), "shop-2026"),
		"another issuer":   rs(with(func(c *jwt.RegisteredClaims) { c.Issuer = "https://evil.example" }), "shop-2026"),
		"another audience": rs(with(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"another-service"} }), "shop-2026"),
		"not yet valid": rs(with(func(c *jwt.RegisteredClaims) {
			c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour))
		}), "shop-2026"),
		"alg none":                            algNone(t, k.claims("alice"), "shop-2026", ""),
		"HS256 keyed by the public key's PEM": mintToken(t, jwt.SigningMethodHS256, k.publicPEM, k.claims("alice"), "shop-2026"),
		"HS256 keyed by the JWKS":             mintToken(t, jwt.SigningMethodHS256, k.jwks, k.claims("alice"), ""),
		"HS256 keyed by a guessed secret":     mintToken(t, jwt.SigningMethodHS256, []byte("guessed-secret-guessed-secret-00"), k.claims("alice"), ""),
		"an unknown kid":                      mintToken(t, jwt.SigningMethodRS256, stranger, k.claims("alice"), "shop-9999"),
		"the right key under an unknown kid":  rs(k.claims("alice"), "shop-9999"),
		"a key taken out of the JWKS":         k.retiredToken,
		"the sale's own kind, a guessed key":  mintToken(t, jwt.SigningMethodHS256, []byte("guessed-secret-guessed-secret-00"), shopperTokenClaims("alice", time.Now(), time.Now().Add(time.Hour)), "k1795564800"),
		"a sub that is no user id":            rs(with(func(c *jwt.RegisteredClaims) { c.Subject = "x/../y" }), "shop-2026"),
	} {
		sc.attacks = append(sc.attacks, attacker{name, bearer(tok), asInvalid})
	}
	return sc
}

// aim is one request about alice (or, for the line, carol): what an
// attacker tries.
type aim struct {
	method, path, body string
	// twin is the same request about a user or reservation that does not
	// exist; from and to turn the answer to the aim into the twin's.
	twinPath, twinBody, from, to string
	// malloryStatus and mallory are the answer to mallory's own token.
	malloryStatus int
	mallory       generated.ProblemType
}

// aims are the requests of each operation that admits shopper tokens, by
// operationId in lower case (the embedded document's are capitalized).
func aims(sc scene, nowhere string) map[string][]aim {
	user := func(method, path, twin, victim string) aim {
		return aim{method: method, path: path, twinPath: twin, from: victim, to: "zelda",
			malloryStatus: http.StatusForbidden, mallory: generated.ProblemTypeForbidden}
	}
	res := func(method, suffix string) aim {
		return aim{method: method, path: "/reservations/" + sc.aliceRes + suffix, twinPath: "/reservations/" + nowhere + suffix,
			from: sc.aliceRes, to: nowhere, malloryStatus: http.StatusNotFound, mallory: generated.ProblemTypeReservationNotFound}
	}
	return map[string][]aim{
		"reserve": {{method: http.MethodPost, path: "/reserve", body: `{"user_id":"alice"}`,
			twinPath: "/reserve", twinBody: `{"user_id":"zelda"}`, from: "alice", to: "zelda",
			malloryStatus: http.StatusForbidden, mallory: generated.ProblemTypeForbidden}},
		"getreservation":     {res(http.MethodGet, ""), {method: http.MethodGet, path: "/reservations/" + sc.bobRes, twinPath: "/reservations/" + nowhere, from: sc.bobRes, to: nowhere, malloryStatus: http.StatusNotFound, mallory: generated.ProblemTypeReservationNotFound}},
		"confirmreservation": {res(http.MethodPost, "/confirm")},
		"cancelreservation":  {res(http.MethodPost, "/cancel")},
		"getuser":            {user(http.MethodGet, "/users/alice", "/users/zelda", "alice"), user(http.MethodGet, "/users/al%69ce", "/users/zelda", "alice"), user(http.MethodGet, "/users/carol", "/users/zelda", "carol")},
		"getuserevents":      {user(http.MethodGet, "/users/alice/events", "/users/zelda/events", "alice"), user(http.MethodGet, "/users/carol/events", "/users/zelda/events", "carol")},
		"leavewaitlist":      {user(http.MethodDelete, "/waitlist/carol", "/waitlist/zelda", "carol"), user(http.MethodDelete, "/waitlist/alice", "/waitlist/zelda", "alice")},
	}
}

// shopperOperations are the operations of the document that a shopper's
// token admits, by operationId in lower case, with their method: every one of them must
// have an aim, so that a new one cannot be left out of the suite.
func shopperOperations(t *testing.T) map[string]string {
	t.Helper()
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]string{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			security := spec.Security
			if op.Security != nil {
				security = *op.Security
			}
			for _, req := range security {
				if _, ok := req["shopperToken"]; ok {
					ops[strings.ToLower(op.OperationID)] = method + " " + path
				}
			}
		}
	}
	if len(ops) == 0 {
		t.Fatal("no operation of the document admits shopperToken")
	}
	return ops
}

// snapshot is the sale as the admin reads it from every server: the books,
// every user, every hold.
func (r *identityRig) snapshot(sc scene) map[string]string {
	r.t.Helper()
	m := map[string]string{}
	for i, srv := range r.s.Servers {
		paths := []string{"/status", "/reservations/" + sc.aliceRes, "/reservations/" + sc.bobRes}
		for _, u := range []string{"alice", "bob", "carol", "mallory", "zelda"} {
			paths = append(paths, "/users/"+u)
		}
		for _, p := range paths {
			e := r.sendTo(srv, http.MethodGet, p, "", r.admin())
			m[fmt.Sprintf("server %d %s", i, p)] = fmt.Sprintf("%d %s", e.status, e.body)
		}
	}
	return m
}

// stream is an event stream read as it comes.
type stream struct {
	buf    lockedBuffer
	cancel func()
	done   chan struct{}
}

// listen opens user's event stream on srv with auth; it must open.
func (r *identityRig) listen(srv *testkit.Server, user string, auth []string) *stream {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/users/"+user+"/events", nil)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	resp, err := (&http.Client{}).Do(req) // no timeout: a stream lasts
	if err != nil {
		cancel()
		r.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		cancel()
		r.t.Fatalf("%s's stream: %d %s", user, resp.StatusCode, b)
	}
	st := &stream{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(st.done)
		defer resp.Body.Close()
		_, _ = io.Copy(&st.buf, resp.Body)
	}()
	r.t.Cleanup(st.close)
	return st
}

func (st *stream) close() {
	st.cancel()
	<-st.done
}

// waitFor waits until the stream has carried s.
func (st *stream) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(st.buf.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the stream never carried %q; it carried:\n%s", s, st.buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// attackEverything tries every aim of every operation as every attacker,
// and checks each answer; it returns every answer's body.
func (r *identityRig) attackEverything(sc scene) []string {
	t := r.t
	t.Helper()
	nowhere := randomReservationID(t)
	table := aims(sc, nowhere)
	ops := shopperOperations(t)
	for id, route := range ops {
		as, ok := table[id]
		if !ok {
			t.Fatalf("%s (%s) admits shopper tokens and the mallory suite does not try it: add it to aims", id, route)
		}
		for _, a := range as {
			if !strings.HasPrefix(route, a.method+" ") {
				t.Fatalf("%s is %s, and its aim is a %s", id, route, a.method)
			}
		}
	}
	for id := range table {
		if _, ok := ops[id]; !ok {
			t.Fatalf("the mallory suite tries %s, which no longer admits shopper tokens", id)
		}
	}

	var bodies []string
	for id, as := range table {
		for _, a := range as {
			for _, who := range sc.attacks {
				what := fmt.Sprintf("%s %s %s as %s", id, a.method, a.path, who.name)
				got := r.send(a.method, a.path, a.body, who.auth)
				bodies = append(bodies, string(got.body))
				wantStatus, wantType := http.StatusUnauthorized, generated.ProblemTypeUnauthorized
				switch {
				case who.kind == asMallory:
					wantStatus, wantType = a.malloryStatus, a.mallory
				case who.kind == asNobody && id == "reserve" && sc.own:
					// Alice is known to the sale: her name is hers.
					wantType = generated.ProblemTypeTokenRequired
				}
				if got.status != wantStatus || got.problem() != wantType {
					t.Errorf("%s: %d %s\nwant %d %s", what, got.status, got.body, wantStatus, wantType)
					continue
				}
				if got.status == http.StatusUnauthorized && !strings.HasPrefix(got.header.Get("WWW-Authenticate"), `Bearer realm="flashsale"`) {
					t.Errorf("%s: a 401 with WWW-Authenticate %q", what, got.header.Get("WWW-Authenticate"))
				}
				if who.kind == asNobody && id == "reserve" && sc.own {
					continue // the twin, a name nobody has, would be claimed
				}
				// The answer tells nothing the same request about nobody
				// would not: the same status, headers and body, but for
				// the name or id asked about.
				twin := r.send(a.method, a.twinPath, a.twinBody, who.auth)
				bodies = append(bodies, string(twin.body))
				if twin.status != got.status || strings.ReplaceAll(string(got.body), a.from, a.to) != string(twin.body) ||
					twin.header.Get("WWW-Authenticate") != got.header.Get("WWW-Authenticate") {
					t.Errorf("%s tells something: it answered\n%d %s\nand about nobody (%s)\n%d %s",
						what, got.status, got.body, a.twinPath, twin.status, twin.body)
				}
			}
		}
	}
	return bodies
}

// TestMallory runs the suite with either kind of token, on every store.
func TestMallory(t *testing.T) {
	t.Run("the sale's own tokens", func(t *testing.T) {
		testkit.Each(t, testkit.Options{Clock: clocktest.New(identityT0.Add(-48 * time.Hour))}, func(t *testing.T, s *testkit.Stack) {
			r := newIdentityRig(t, s)
			malloryAttacks(t, r, ownScene(t, r))
		})
	})
	t.Run("the shop's tokens", func(t *testing.T) {
		keys := newShopKeys(t)
		testkit.Each(t, testkit.Options{Clock: clocktest.New(identityT0), API: httpapi.Config{Shoppers: keys.verifier}}, func(t *testing.T, s *testkit.Stack) {
			r := newIdentityRig(t, s)
			malloryAttacks(t, r, shopScene(t, r, keys))
		})
	})
}

func malloryAttacks(t *testing.T, r *identityRig, sc scene) {
	before := r.snapshot(sc)
	// Mallory listens to her own stream all along, on one server, while
	// the attempts go to every server.
	listening := r.listen(r.s.Server(), "mallory", bearer(sc.tokens["mallory"]))
	listening.waitFor(t, "event: state")

	bodies := r.attackEverything(sc)

	after := r.snapshot(sc)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed under attack:\nbefore %s\nafter  %s", k, v, after[k])
		}
	}
	for _, b := range bodies {
		for _, id := range []string{sc.aliceRes, sc.bobRes} {
			// An answer about a reservation quotes the id asked about;
			// that one is compared to a nonexistent one's above.
			if strings.Contains(strings.ReplaceAll(b, `"no reservation `+id+`"`, ""), id) {
				t.Errorf("an answer to an attacker carries reservation %s: %s", id, b)
			}
		}
	}

	// Mallory's idempotency key on alice's reservation is hers: alice
	// using the same key (on another server) is not answered mallory's 404.
	const key = "mallory-chose-this-key-0001"
	r.want(r.sendTo(r.s.Server(), http.MethodPost, "/reservations/"+sc.aliceRes+"/confirm", "", bearer(sc.tokens["mallory"]), "Idempotency-Key", key),
		http.StatusNotFound, generated.ProblemTypeReservationNotFound)

	// Then the sale moves: bob gives his unit back, carol gets it, and
	// mallory moves up. Her stream says so, and carries no one's hold.
	r.want(r.send(http.MethodPost, "/reservations/"+sc.bobRes+"/cancel", "", bearer(sc.tokens["bob"])), http.StatusOK, "")
	listening.waitFor(t, "event: position")
	carol := r.send(http.MethodGet, "/users/carol", "", bearer(sc.tokens["carol"]))
	r.want(carol, http.StatusOK, "")
	promoted := carol.answer(t)
	if promoted.State != "held" || promoted.Reservation == nil {
		t.Fatalf("carol after bob cancelled: %s, want held", carol.body)
	}
	confirmed := r.sendTo(r.s.Next(1), http.MethodPost, "/reservations/"+sc.aliceRes+"/confirm", "", bearer(sc.tokens["alice"]), "Idempotency-Key", key)
	r.want(confirmed, http.StatusOK, "")
	if confirmed.header.Get("Idempotency-Replayed") != "" || confirmed.answer(t).ReservationID != sc.aliceRes {
		t.Errorf("alice's confirm with the key mallory used: %v %v", confirmed.header, confirmed)
	}
	time.Sleep(100 * time.Millisecond) // what else the stream would carry
	listening.close()
	heard := listening.buf.String()
	for _, id := range []string{sc.aliceRes, sc.bobRes, promoted.Reservation.ID} {
		if strings.Contains(heard, id) {
			t.Errorf("mallory's stream carries reservation %s:\n%s", id, heard)
		}
	}
}

// TestMalloryTranscript is the transcript, step by step: each step
// after the first two must fail, and the unit must not go to mallory.
func TestMalloryTranscript(t *testing.T) {
	testkit.Each(t, testkit.Options{Clock: clocktest.New(identityT0)}, func(t *testing.T, s *testkit.Stack) {
		r := newIdentityRig(t, s)
		r.initialize(1, false)
		alice := r.claim("alice", http.StatusCreated)      // alice gets the unit
		mallory := r.claim("mallory", http.StatusAccepted) // mallory is first in line
		bob := r.claim("bob", http.StatusAccepted)
		if mallory.Position != 1 || bob.Position != 2 {
			t.Fatalf("mallory at %d and bob at %d, want 1 and 2", mallory.Position, bob.Position)
		}
		// Anyone reads alice's reservation_id: no more.
		r.want(r.send(http.MethodGet, "/users/alice", "", nil), http.StatusUnauthorized, generated.ProblemTypeUnauthorized)
		asMallory := r.send(http.MethodGet, "/users/alice", "", bearer(mallory.Token))
		r.want(asMallory, http.StatusForbidden, generated.ProblemTypeForbidden)
		if strings.Contains(string(asMallory.body), alice.ReservationID) {
			t.Fatalf("mallory read alice's reservation id: %s", asMallory.body)
		}
		// Anyone cancels alice's hold: no more.
		r.want(r.send(http.MethodPost, "/reservations/"+alice.ReservationID+"/cancel", "", bearer(mallory.Token)),
			http.StatusNotFound, generated.ProblemTypeReservationNotFound)
		r.want(r.send(http.MethodPost, "/reservations/"+alice.ReservationID+"/cancel", "", nil),
			http.StatusUnauthorized, generated.ProblemTypeUnauthorized)
		// Anyone removes anyone from the line: no more.
		r.want(r.send(http.MethodDelete, "/waitlist/bob", "", bearer(mallory.Token)), http.StatusForbidden, generated.ProblemTypeForbidden)
		r.want(r.send(http.MethodDelete, "/waitlist/bob", "", nil), http.StatusUnauthorized, generated.ProblemTypeUnauthorized)
		// Nor reserve in alice's name, with a token or without.
		r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"alice"}`, nil), http.StatusUnauthorized, generated.ProblemTypeTokenRequired)
		r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"alice"}`, bearer(mallory.Token)), http.StatusForbidden, generated.ProblemTypeForbidden)

		// The unit is still alice's, and mallory and bob wait as before.
		a := r.send(http.MethodGet, "/users/alice", "", bearer(alice.Token))
		r.want(a, http.StatusOK, "")
		if got := a.answer(t); got.State != "held" || got.Reservation == nil || got.Reservation.ID != alice.ReservationID {
			t.Errorf("alice after the transcript: %s, want her hold %s", a.body, alice.ReservationID)
		}
		for user, want := range map[string]int{"mallory": 1, "bob": 2} {
			tok := map[string]string{"mallory": mallory.Token, "bob": bob.Token}[user]
			u := r.send(http.MethodGet, "/users/"+user, "", bearer(tok))
			r.want(u, http.StatusOK, "")
			if got := u.answer(t); got.State != "waiting" || got.Position != want {
				t.Errorf("%s after the transcript: %s, want waiting at %d", user, u.body, want)
			}
		}
		st := r.send(http.MethodGet, "/status", "", nil)
		r.want(st, http.StatusOK, "")
		var status generated.Status
		if err := json.Unmarshal(st.body, &status); err != nil {
			t.Fatal(err)
		}
		if want := (generated.Status{Initialized: true, TotalInventory: 1, Held: 1, WaitlistSize: 2}); status != want {
			t.Errorf("status after the transcript %+v, want %+v", status, want)
		}
	})
}

// TestMalloryRacesForANewName: strangers claim one new name at once, on
// every server; one gets it, with its token, and every other is told the
// name is taken.
func TestMalloryRacesForANewName(t *testing.T) {
	testkit.Each(t, testkit.Options{Clock: clocktest.New(identityT0)}, func(t *testing.T, s *testkit.Stack) {
		r := newIdentityRig(t, s)
		r.initialize(1, false)
		for _, c := range []struct {
			name   string
			status int
		}{{"newcomer", http.StatusCreated}, {"latecomer", http.StatusAccepted}} {
			const crowd = 24
			answers := make([]exchange, crowd)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range crowd {
				wg.Go(func() {
					<-start
					answers[i] = r.send(http.MethodPost, "/reserve", `{"user_id":"`+c.name+`"}`, nil)
				})
			}
			close(start)
			wg.Wait()
			var winners []shopperAnswer
			for _, e := range answers {
				switch {
				case e.status == c.status:
					a := e.answer(t)
					if a.Token == "" {
						t.Errorf("the winner of %s got no token: %s", c.name, e.body)
					}
					winners = append(winners, a)
				case e.status == http.StatusUnauthorized && e.problem() == generated.ProblemTypeTokenRequired:
					if e.header.Get("WWW-Authenticate") == "" {
						t.Errorf("a 401 with no WWW-Authenticate: %v", e)
					}
				default:
					t.Errorf("a claim of %s: %v, want %d or 401 token-required", c.name, e, c.status)
				}
			}
			if len(winners) != 1 {
				t.Fatalf("%d strangers got %s, want exactly one", len(winners), c.name)
			}
			// The winner's token is the name's; the name is no one else's.
			r.want(r.send(http.MethodGet, "/users/"+c.name, "", bearer(winners[0].Token)), http.StatusOK, "")
		}
		st := r.send(http.MethodGet, "/status", "", nil)
		var status generated.Status
		if err := json.Unmarshal(st.body, &status); err != nil {
			t.Fatal(err)
		}
		if status.Held != 1 || status.WaitlistSize != 1 {
			t.Errorf("status %s, want one hold and one in line", st.body)
		}
	})
}

// TestMalloryIdempotentFirstReserve: a retried first reserve gets the same
// token, on any server; another try without the token does not.
func TestMalloryIdempotentFirstReserve(t *testing.T) {
	testkit.Each(t, testkit.Options{Clock: clocktest.New(identityT0)}, func(t *testing.T, s *testkit.Stack) {
		r := newIdentityRig(t, s)
		r.initialize(1, false)
		const key = "dave-first-reserve-7d1f0c9e"
		first := r.send(http.MethodPost, "/reserve", `{"user_id":"dave"}`, nil, "Idempotency-Key", key)
		r.want(first, http.StatusCreated, "")
		if first.answer(t).Token == "" {
			t.Fatalf("dave's first reserve carries no token: %s", first.body)
		}
		// Time passes, within the key's life: the token is the first one's.
		s.Clock.Advance(time.Minute)
		for _, srv := range s.Servers {
			again := r.sendTo(srv, http.MethodPost, "/reserve", `{"user_id":"dave"}`, nil, "Idempotency-Key", key)
			r.want(again, http.StatusCreated, "")
			if !bytes.Equal(again.body, first.body) || again.header.Get("Idempotency-Replayed") != "true" {
				t.Errorf("the retry on %s answered\n%s (replayed %q)\nwant the first answer\n%s", srv.URL, again.body, again.header.Get("Idempotency-Replayed"), first.body)
			}
		}
		for _, other := range []string{"dave-second-try-00000001", ""} {
			var h []string
			if other != "" {
				h = []string{"Idempotency-Key", other}
			}
			r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"dave"}`, nil, h...), http.StatusUnauthorized, generated.ProblemTypeTokenRequired)
		}
		// The token works, and only for dave.
		tok := first.answer(t).Token
		r.want(r.send(http.MethodGet, "/users/dave", "", bearer(tok)), http.StatusOK, "")
		r.want(r.send(http.MethodGet, "/users/erin", "", bearer(tok)), http.StatusForbidden, generated.ProblemTypeForbidden)
	})
}

// TestMalloryCannotSpendAlicesAttempts: reserves in alice's name that are
// refused as not hers must not use up the attempts alice may make.
func TestMalloryCannotSpendAlicesAttempts(t *testing.T) {
	s := testkit.Start(t, testkit.Options{Clock: clocktest.New(identityT0), API: httpapi.Config{RateLimit: 1, RateBurst: 3}})
	r := newIdentityRig(t, s)
	r.initialize(5, false)
	alice := r.claim("alice", http.StatusCreated)
	mallory := r.claim("mallory", http.StatusCreated)
	for range 10 {
		r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"alice"}`, bearer(mallory.Token)), http.StatusForbidden, generated.ProblemTypeForbidden)
		// Nor can a stranger, who proves nobody.
		r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"alice"}`, nil), http.StatusUnauthorized, generated.ProblemTypeTokenRequired)
	}
	// Alice gives her unit back and takes one again, with her whole burst
	// of three (her first reserve, a claim, counted against her address,
	// not her): then she is limited.
	r.want(r.send(http.MethodPost, "/reservations/"+alice.ReservationID+"/cancel", "", bearer(alice.Token)), http.StatusOK, "")
	r.reserve("alice", bearer(alice.Token), http.StatusCreated)
	for range 2 {
		r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"alice"}`, bearer(alice.Token)), http.StatusConflict, generated.ProblemTypeAlreadyReserved)
	}
	r.want(r.send(http.MethodPost, "/reserve", `{"user_id":"alice"}`, bearer(alice.Token)), http.StatusTooManyRequests, generated.ProblemTypeRateLimited)
}
