package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/testkit"
)

// newNames claims n names new to the sale, prefix-0 on, from one client (as
// header, name and value pairs, say), spread over workers at once; it
// returns how many were admitted, and fails t on any answer other than a
// hold or a 429 rate-limited that names wantAddr.
func (r *identityRig) newNames(prefix string, n, workers int, wantAddr string, header ...string) int {
	r.t.Helper()
	var mu sync.Mutex
	admitted := 0
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				e := r.send(http.MethodPost, "/reserve", fmt.Sprintf(`{"user_id":"%s-%d"}`, prefix, i), nil, header...)
				switch {
				case e.status == http.StatusCreated || e.status == http.StatusAccepted:
					mu.Lock()
					admitted++
					mu.Unlock()
				case e.status == http.StatusTooManyRequests && e.problem() == generated.ProblemTypeRateLimited:
					if secs, err := strconv.Atoi(e.header.Get("Retry-After")); err != nil || secs < 1 {
						r.t.Errorf("a 429 with Retry-After %q", e.header.Get("Retry-After"))
					}
					if !strings.Contains(string(e.body), "too many new users from "+wantAddr+";") {
						r.t.Errorf("a 429 that does not name the client %s: %s", wantAddr, e.body)
					}
				default:
					r.t.Errorf("a new name from %v: %v", header, e)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return admitted
}

func (r *identityRig) status() generated.Status {
	r.t.Helper()
	e := r.send(http.MethodGet, "/status", "", nil)
	r.want(e, http.StatusOK, "")
	var st generated.Status
	if err := json.Unmarshal(e.body, &st); err != nil {
		r.t.Fatal(err)
	}
	return st
}

// TestNewUserLimitPerAddress: one address inventing hundreds of names in a
// burst gets its burst and 429s; two shoppers with tokens go on as before.
func TestNewUserLimitPerAddress(t *testing.T) {
	clock := clocktest.New(identityT0) // time stands still: no token comes back during the burst
	s := testkit.Start(t, testkit.Options{Clock: clock, API: httpapi.Config{NewShopperRate: 1, NewShopperBurst: 20}})
	r := newIdentityRig(t, s)
	r.initialize(1000, false)
	alice := r.claim("alice", http.StatusCreated)
	bob := r.claim("bob", http.StatusCreated)

	if got := r.newNames("bot", 300, 8, "127.0.0.1"); got != 18 {
		t.Errorf("%d of 300 new names admitted from one address, want the burst of 20 less alice and bob", got)
	}
	if st := r.status(); st.Held != 20 {
		t.Errorf("%d units held, want 20: a refused name took nothing", st.Held)
	}

	// The shoppers who have tokens are not new: the limit is not theirs.
	for range 5 {
		for user, a := range map[string]shopperAnswer{"alice": alice, "bob": bob} {
			u := r.send(http.MethodGet, "/users/"+user, "", bearer(a.Token))
			r.want(u, http.StatusOK, "")
			held := u.answer(t).Reservation
			r.want(r.send(http.MethodPost, "/reservations/"+held.ID+"/cancel", "", bearer(a.Token)), http.StatusOK, "")
			r.reserve(user, bearer(a.Token), http.StatusCreated)
		}
	}
	// Nor is it the admin's.
	r.reserve("carol", r.admin(), http.StatusCreated)

	// A second brings one name more, and no more.
	clock.Advance(time.Second)
	if got := r.newNames("later", 5, 1, "127.0.0.1"); got != 1 {
		t.Errorf("%d new names admitted a second later, want 1", got)
	}
}

// TestNewUserLimitBehindTrustedProxies: behind a proxy the server trusts,
// each client the proxy names has a burst of its own, and what a client
// writes in the headers itself does not make it another.
func TestNewUserLimitBehindTrustedProxies(t *testing.T) {
	s := testkit.Start(t, testkit.Options{Clock: clocktest.New(identityT0), API: httpapi.Config{
		NewShopperRate: 1, NewShopperBurst: 5,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	}})
	r := newIdentityRig(t, s)
	r.initialize(1000, false)
	for _, c := range []struct {
		name, addr string
		header     []string
		want       int
	}{
		{"a", "203.0.113.1", []string{"X-Forwarded-For", "203.0.113.1"}, 5},
		{"b", "203.0.113.2", []string{"X-Forwarded-For", "203.0.113.2"}, 5},
		// Client a again, with an address of its own choosing written
		// before the one the proxy appends.
		{"a-spoofing", "203.0.113.1", []string{"X-Forwarded-For", "198.51.100.77, 203.0.113.1"}, 0},
		{"a-spoofing-a-proxy", "203.0.113.1", []string{"X-Forwarded-For", "127.0.0.9, 203.0.113.1"}, 0},
		{"c", "203.0.113.3", []string{"Forwarded", `for=203.0.113.3;proto=https`}, 5},
		{"c-by-x-forwarded-for", "203.0.113.3", []string{"X-Forwarded-For", "203.0.113.3"}, 0},
		{"v6", "2001:db8:1:2::/64", []string{"X-Forwarded-For", "2001:db8:1:2::1"}, 5},
		{"v6-same-64", "2001:db8:1:2::/64", []string{"Forwarded", `for="[2001:db8:1:2:ffff::9]:4711"`}, 0},
		{"v6-next-64", "2001:db8:1:3::/64", []string{"X-Forwarded-For", "2001:db8:1:3::1"}, 5},
		{"the-proxy-itself", "127.0.0.1", nil, 5},
	} {
		if got := r.newNames(c.name, 12, 3, c.addr, c.header...); got != c.want {
			t.Errorf("client %s (%v): %d of 12 new names admitted, want %d", c.name, c.header, got, c.want)
		}
	}
}

// TestNewUserLimitIgnoresAnUntrustedPeersHeaders: a client that is not a
// trusted proxy cannot name itself anyone else.
func TestNewUserLimitIgnoresAnUntrustedPeersHeaders(t *testing.T) {
	s := testkit.Start(t, testkit.Options{Clock: clocktest.New(identityT0), API: httpapi.Config{
		NewShopperRate: 1, NewShopperBurst: 5,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	}})
	r := newIdentityRig(t, s)
	r.initialize(1000, false)
	admitted := 0
	for i := range 40 {
		var h []string
		switch i % 3 {
		case 0:
			h = []string{"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)}
		case 1:
			h = []string{"Forwarded", fmt.Sprintf("for=198.51.100.%d", i)}
		case 2:
			h = []string{"X-Forwarded-For", fmt.Sprintf("10.0.0.%d", i)}
		}
		admitted += r.newNames(fmt.Sprintf("spoof%d", i), 1, 1, "127.0.0.1", h...)
	}
	if admitted != 5 {
		t.Errorf("%d of 40 new names admitted from one untrusted peer with made-up headers, want its burst of 5", admitted)
	}
}
