package main

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/testkit"
)

// Shopper tokens in the tests of the real server. A test's shoppers keep
// the shopper_token their first reserve answered, as each one's own device
// would, and send it with every later request about them (testkit.Jar).
// All the clients of one test share one jar, across its servers and their
// restarts: servers on one store share its signing secrets, so a token
// keeps working on all of them. Another test, with a sale of its own, has
// a jar of its own.

var jars sync.Map // testing.TB → *testkit.Jar

// jarOf is t's shoppers' jar.
func jarOf(t testing.TB) *testkit.Jar {
	if j, ok := jars.Load(t); ok {
		return j.(*testkit.Jar)
	}
	j, loaded := jars.LoadOrStore(t, testkit.NewJar(nil))
	if !loaded {
		t.Cleanup(func() { jars.Delete(t) })
	}
	return j.(*testkit.Jar)
}

// shopperClient is an HTTP client of t's shoppers over next (nil for
// http.DefaultTransport); a timeout of 0 is none (for event streams).
func shopperClient(t testing.TB, timeout time.Duration, next http.RoundTripper) *http.Client {
	if next == nil {
		next = http.DefaultTransport
	}
	return &http.Client{Timeout: timeout, Transport: jarOf(t).Transport(next)}
}

// as makes a generated client's request user's own, with the token jar
// keeps for them, whatever the request is about: the jar tells the user of
// /users/{id} and of a reserve's body, but of a reservation only when a
// reserve answer named it (not one a promotion gave). A user the jar has
// no token for asks with none.
func as(jar *testkit.Jar, user string) generated.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		if tok := jar.Token(user); tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		return nil
	}
}

// asOrAdmin is as, but a user the test never got a token for (their only
// reserve was cut off, or answered 503) is read with the admin token, as
// support would: the checks after a crash read every user.
func asOrAdmin(jar *testkit.Jar, user, adminToken string) generated.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		tok := jar.Token(user)
		if tok == "" {
			tok = adminToken
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
}

// bearer sends every request with one bearer token.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(req)
}

// adminClient is an HTTP client that makes every request as the admin: for
// reading users a test never got a token for.
func adminClient(token string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: bearer{token: token, next: http.DefaultTransport}}
}
