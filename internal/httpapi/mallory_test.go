package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
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
