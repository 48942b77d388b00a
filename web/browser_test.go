package web_test

// What every browser test needs: the real server on a loopback port, a
// headless Debian chromium driven through chromedp, and a way to wait for
// the page and to keep a picture of it.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
	shoptokens "github.com/flashsale/flashsale/internal/shopper"
	"github.com/flashsale/flashsale/internal/testkit"
	"github.com/flashsale/flashsale/web"
)

const (
	adminToken  = "test-token"
	testTimeout = 60 * time.Second
)

// window sizes: a desktop, and a phone held upright.
var (
	desktop = size{1200, 900}
	phone   = size{390, 844}
)

type size struct{ w, h int }

// shop is the whole stack (store, event streams, HTTP API and the page)
// served the way cmd/flashsale serves it, on a loopback port.
type shop struct {
	URL string
	srv *testkit.Server
}

// newShop starts a shop with no sale initialized, signing its own shopper
// tokens.
func newShop(t *testing.T) *shop {
	t.Helper()
	return newShopWith(t, httpapi.Config{})
}

// newShopWith starts a shop with no sale initialized, with api's settings
// (its admin token is always adminToken).
func newShopWith(t *testing.T, api httpapi.Config) *shop {
	t.Helper()
	api.AdminToken = adminToken
	srv := testkit.Start(t, testkit.Options{
		Sale: sale.Config{HoldTTL: 2 * time.Minute},
		API:  api,
	}).Server()
	return &shop{URL: srv.URL, srv: srv}
}

// down takes the shop off the network: every stream and connection ends
// and no new one is accepted.
func (s *shop) down() { _ = s.srv.Close() }

// request sends one JSON request to the shop, with the admin token (which
// may do anything, for any user), and decodes a JSON answer into
// out (when out is not nil), failing the test unless the status is want.
func request(t *testing.T, method, url string, body any, want int, out any) {
	t.Helper()
	var r *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		var p map[string]any
		_ = json.NewDecoder(res.Body).Decode(&p)
		t.Fatalf("%s %s: status %d, want %d: %v", method, url, res.StatusCode, want, p)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
}

// startSale initializes a fresh sale of total units.
func startSale(t *testing.T, s *shop, total int) {
	t.Helper()
	request(t, http.MethodPost, s.URL+"/initialize", map[string]any{"total_inventory": total, "reset": true}, http.StatusOK, nil)
}

// newBrowser starts chromium for one test, bounded by testTimeout, and
// returns a context whose tab is open. Each shopper should still get a
// context of their own from shopper.
func newBrowser(t *testing.T, win size) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("FLASHSALE_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium not found and FLASHSALE_REQUIRE_BROWSER is set (apt-get install -y chromium)")
		}
		t.Skip("chromium not installed (apt-get install -y chromium); skipping the browser test")
	}
	// The timeout is the browser's life: when it passes, chromium is
	// stopped and whatever the test waits for fails at once.
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// The machine has no route out: without these, chromium keeps
		// trying to reach its update and sync services.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(win.w, win.h),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(cancelBrowser)
	// The first action starts the browser: do it here, so that a browser
	// that cannot start fails the test before anything else.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab opens url in a tab of a browser context of its own (its own cookies
// and storage, as another person's browser would have), sized as win.
// before runs in the tab before it goes to url.
func tab(t *testing.T, browser context.Context, win size, url string, before ...chromedp.Action[chromedp.Void]) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	open(t, ctx, win, url, before)
	return ctx
}

// sameBrowserTab opens url in a new tab of the browser context of same: the
// same person's browser, sharing its storage.
func sameBrowserTab(t *testing.T, same context.Context, win size, url string, before ...chromedp.Action[chromedp.Void]) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(same)
	t.Cleanup(cancel)
	open(t, ctx, win, url, before)
	return ctx
}

func open(t *testing.T, ctx context.Context, win size, url string, before []chromedp.Action[chromedp.Void]) {
	t.Helper()
	reportFaults(t, ctx)
	steps := append(slices.Clip(before), chromedp.EmulateViewport(int64(win.w), int64(win.h)), chromedp.Navigate(url))
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
}

// reportFaults fails the test, at its end, if the tab's page threw an
// exception that nothing caught or broke a security rule: under the server's
// Content-Security-Policy, an inline script or style the page needs is one
// that does not run, which chromium reports only as a message like these.
func reportFaults(t *testing.T, ctx context.Context) {
	t.Helper()
	var mu sync.Mutex
	var faults []string
	err := chromedp.Listen(ctx, func(ev any) {
		var fault string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			fault = "uncaught: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				fault += " " + ev.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Source == cdplog.EntrySourceSecurity || ev.Entry.Source == cdplog.EntrySourceJavascript {
				fault = string(ev.Entry.Source) + ": " + ev.Entry.Text
			}
		}
		if fault != "" {
			mu.Lock()
			faults = append(faults, fault)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("listen to the tab: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		_, err := cdp.Call(ctx, tab, cdplog.Enable, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatalf("enable the log of the tab: %v", err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range faults {
			t.Errorf("the page: %s", f)
		}
	})
}

// shopper opens the waiting room in a tab of its own.
func shopper(t *testing.T, browser context.Context, win size, s *shop, before ...chromedp.Action[chromedp.Void]) context.Context {
	t.Helper()
	return waitingRoom(t, tab(t, browser, win, s.URL+"/", before...))
}

// sameShopper opens the waiting room in a new tab of the browser context of
// same: the same shopper's browser.
func sameShopper(t *testing.T, same context.Context, win size, s *shop, before ...chromedp.Action[chromedp.Void]) context.Context {
	t.Helper()
	return waitingRoom(t, sameBrowserTab(t, same, win, s.URL+"/", before...))
}

func waitingRoom(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("buy"))); err != nil {
		t.Fatalf("the waiting room: %v", err)
	}
	return ctx
}

// waitFor polls the page until the JavaScript expression is true; on
// timeout it fails the test, saying what it waited for and what #message
// said then.
func waitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("message")?.textContent ?? ""`))
		t.Fatalf("waiting for %s: %v (the page says %q)", what, err, msg)
	}
}

// textOf is the text an element shows.
func textOf(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).innerText`, id)))
	if err != nil {
		t.Fatalf("read #%s: %v", id, err)
	}
	return s
}

// shows is a JavaScript test that the element with id is shown and its text
// contains text.
func shows(id, text string) string {
	return fmt.Sprintf(`(() => { const e = document.getElementById(%q); return !!e && !e.closest("[hidden]") && e.innerText.includes(%q); })()`, id, text)
}

// screenshot saves a full-page PNG of the tab as name in
// $FLASHSALE_SCREENSHOTS, when it is set (make screenshots sets it).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("FLASHSALE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// recorder keeps, in window.__answers, every request the page makes with
// fetch (the page makes no other) and the whole text of its answer, event
// streams included, as it arrives: everything the network told the page.
const recorder = `(() => {
  const answers = (window.__answers = []);
  const real = window.fetch;
  window.fetch = async function (input, init) {
    const entry = { method: (init && init.method) || "GET", url: String(input), status: 0, body: "" };
    answers.push(entry);
    const res = await real.call(this, input, init);
    entry.status = res.status;
    const copy = res.clone();
    if (copy.body) {
      (async () => {
        const reader = copy.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          entry.body += value;
        }
      })().catch(() => {});
    }
    return res;
  };
})();`

// recordAnswers is an action for tab's before: the page it opens keeps a
// record of its requests and answers (recorder).
func recordAnswers() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		_, err := cdp.Call(ctx, tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recorder})
		return err
	})
}

// answer is one request of a page that records them, and its answer.
type answer struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// answersOf is what a recording page asked and was told so far.
func answersOf(t *testing.T, ctx context.Context) []answer {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]answer](`window.__answers`))
	if err != nil {
		t.Fatalf("read the page's answers: %v", err)
	}
	return got
}

// holdOf is the id of user's reservation, read with the admin token.
func holdOf(t *testing.T, s *shop, user string) string {
	t.Helper()
	var u struct {
		Reservation struct {
			ID string `json:"reservation_id"`
		} `json:"reservation"`
	}
	request(t, http.MethodGet, s.URL+"/users/"+user, nil, http.StatusOK, &u)
	if u.Reservation.ID == "" {
		t.Fatalf("%s has no reservation", user)
	}
	return u.Reservation.ID
}

// neverTold fails the test if a recording page shows id anywhere in its
// document, or was ever sent it.
func neverTold(t *testing.T, ctx context.Context, who, id string) {
	t.Helper()
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, id) {
		t.Errorf("%s's page shows reservation %s, which is not theirs", who, id)
	}
	for _, a := range answersOf(t, ctx) {
		if strings.Contains(a.Body, id) {
			t.Errorf("%s's page was told reservation %s, which is not theirs, by %s %s (%d): %s", who, id, a.Method, a.URL, a.Status, a.Body)
		}
	}
}

// TestWaitingRoomShoppersApart: alice and bob, each in a chromium of their
// own with a profile of its own, as two people on two machines. alice holds
// the one unit and bob waits: nothing bob's page shows or is sent names
// alice's hold, and when she cancels he is promoted to a hold of his own,
// which alice's page is never told of. In bob's browser the name alice is
// someone else's, and the page says so.
func TestWaitingRoomShoppersApart(t *testing.T) {
	shop := newShop(t)
	startSale(t, shop, 1)
	alice := shopper(t, newBrowser(t, desktop), desktop, shop, recordAnswers())
	bob := shopper(t, newBrowser(t, desktop), desktop, shop, recordAnswers())

	buy(t, alice, "alice")
	waitFor(t, alice, "alice's hold", shows("hold", "You have one reserved")+" && "+shows("link", "Live updates for alice"))
	buy(t, bob, "bob")
	waitFor(t, bob, "bob's place in line", shows("line", "You are number 1 in line")+" && "+shows("link", "Live updates for bob"))
	aliceHold := holdOf(t, shop, "alice")
	neverTold(t, bob, "bob", aliceHold)

	click(t, alice, "cancel")
	waitFor(t, alice, "alice's cancellation", shows("message", "Cancelled"))
	waitFor(t, bob, "bob's promotion", shows("hold", "You have one reserved")+" && "+shows("message", "Your turn!"))
	bobHold := holdOf(t, shop, "bob")
	if bobHold == aliceHold {
		t.Fatalf("bob was promoted to alice's reservation %s", aliceHold)
	}
	// bob's page is told of his own hold: the record does see holds.
	waitFor(t, bob, "bob's own hold in what his page was sent", fmt.Sprintf(`window.__answers.some((a) => a.body.includes(%q))`, bobHold))
	neverTold(t, bob, "bob", aliceHold)
	neverTold(t, alice, "alice", bobHold)

	// A new tab of bob's browser follows bob; typed there, alice is a name
	// from another device.
	other := sameShopper(t, bob, desktop, shop, recordAnswers())
	waitFor(t, other, "bob's hold in his new tab", shows("hold", "You have one reserved"))
	buy(t, other, "alice")
	waitFor(t, other, "the name refused in words",
		shows("message", "This name is already in the sale from another device or browser. Use that device, or pick another name.")+
			` && document.getElementById("hold").hidden && document.getElementById("line").hidden`)
	neverTold(t, other, "bob", aliceHold)
	for _, a := range answersOf(t, other) {
		if a.Method == http.MethodPost && a.Status != http.StatusUnauthorized {
			t.Errorf("bob's Buy as alice: %s %s answered %d, want 401", a.Method, a.URL, a.Status)
		}
	}
}

// TestWaitingRoomSecondTab: a second tab of the same browser is the same
// shopper: it shows alice's hold at once, from her token and her stream,
// without reserving again, and what is done in it shows in the first.
func TestWaitingRoomSecondTab(t *testing.T) {
	shop := newShop(t)
	startSale(t, shop, 2)
	browser := newBrowser(t, desktop)
	first := shopper(t, browser, desktop, shop)
	buy(t, first, "alice")
	waitFor(t, first, "alice's hold", shows("hold", "You have one reserved")+" && "+shows("link", "Live updates for alice"))
	hold := holdOf(t, shop, "alice")

	second := sameShopper(t, first, desktop, shop, recordAnswers())
	waitFor(t, second, "alice's hold in the second tab",
		shows("hold", "You have one reserved")+" && "+shows("link", "Live updates for alice")+` && document.getElementById("name").value === "alice"`)
	waitFor(t, second, "her hold in what the tab was sent", fmt.Sprintf(`window.__answers.some((a) => a.body.includes(%q))`, hold))
	for _, a := range answersOf(t, second) {
		if a.Method != http.MethodGet {
			t.Errorf("the second tab sent %s %s: it should only follow alice", a.Method, a.URL)
		}
	}

	click(t, second, "confirm")
	waitFor(t, second, "the purchase", shows("done", "Bought"))
	waitFor(t, first, "the purchase, in the first tab too", shows("done", "Bought")+` && document.getElementById("hold").hidden`)
}

// TestWaitingRoomShopTokens: with the shop's own tokens, the shop sends
// alice to /#token=<its JWT>. The page takes the token, clears it from the
// address at once, knows her by its sub, and holds a unit for her; a reload
// keeps her. A token past its time is refused in words.
func TestWaitingRoomShopTokens(t *testing.T) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	secret = []byte(hex.EncodeToString(secret))
	path := filepath.Join(t.TempDir(), "shop-secret")
	if err := os.WriteFile(path, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	const issuer, audience = "https://shop.example", "flashsale"
	verifier, err := shoptokens.LoadShop(shoptokens.ShopConfig{SecretFile: path, Issuer: issuer, Audience: audience, ValidUser: httpapi.ValidUserID})
	if err != nil {
		t.Fatal(err)
	}
	mint := func(sub string, exp time.Time) string {
		t.Helper()
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
			Subject:   sub,
			Issuer:    issuer,
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(exp.Add(-time.Hour)),
			ExpiresAt: jwt.NewNumericDate(exp),
		}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	shop := newShopWith(t, httpapi.Config{Shoppers: verifier})
	startSale(t, shop, 1)
	browser := newBrowser(t, desktop)

	token := mint("alice", time.Now().Add(time.Hour))
	alice := waitingRoom(t, tab(t, browser, desktop, shop.URL+"/#token="+token))
	waitFor(t, alice, "the token out of the address", `location.hash === "" && !location.href.includes("token")`)
	waitFor(t, alice, "the page to know alice", `document.getElementById("name").value === "alice"`)
	kept, err := chromedp.Run(alice, chromedp.Evaluate[string](`localStorage.getItem("flashsale.token.alice")`))
	if err != nil || kept != token {
		t.Fatalf("localStorage holds %q (%v), want the shop's token", kept, err)
	}
	buy(t, alice, "alice")
	waitFor(t, alice, "alice's hold", shows("hold", "You have one reserved")+" && "+shows("link", "Live updates for alice"))
	if err := chromedp.Do(alice, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("buy"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, "her hold after a reload", shows("hold", "You have one reserved")+" && "+shows("link", "Live updates for alice"))

	late := waitingRoom(t, tab(t, browser, desktop, shop.URL+"/#token="+mint("bob", time.Now().Add(-time.Hour))))
	waitFor(t, late, "the token out of the address", `location.hash === ""`)
	waitFor(t, late, "the expired token refused in words", shows("link", "has expired or is no longer accepted"))
	buy(t, late, "bob")
	waitFor(t, late, "a Buy refused in words", shows("message", "Sign in at the shop"))
}

// fakeShop serves the page's files, a blank page to run them in, and
// event streams that the test writes itself.
func fakeShop(t *testing.T, streams map[string]http.HandlerFunc) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(web.Files())))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>streams</title>")
	})
	for user, h := range streams {
		mux.HandleFunc("GET /users/"+user+"/events", h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestEventStreamFormat: the page reads the event-stream format by the
// standard's rules, whatever the pieces it arrives in: CR, LF and CRLF line
// ends (a CRLF split between pieces included), comments, data over several
// lines, a field with no colon, retry: that is not a number, and an event
// cut short by the end of the stream.
func TestEventStreamFormat(t *testing.T) {
	url := fakeShop(t, nil)
	browser := newBrowser(t, desktop)
	ctx := tab(t, browser, desktop, url+"/")
	type event struct{ Type, Data, ID string }
	type result struct {
		Events []event
		Retry  int
		LastID string
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[result](`import("/static/sse.js").then(({ EventParser }) => {
  const events = [];
  const p = new EventParser((e) => events.push({ Type: e.type, Data: e.data, ID: e.id }));
  for (const piece of ["data: a\ndata:b\r", "\n\r\n: a comment\r", "\nid: 1\rretry: 9x\nretry: 30\nevent: e\ndata\n\n", "id\n", "event: gone\ndata: cut"]) {
    p.push(piece);
  }
  p.end();
  return { Events: events, Retry: p.retry, LastID: p.lastId };
})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	want := result{Events: []event{{"message", "a\nb", ""}, {"e", "", "1"}}, Retry: 30, LastID: "1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
}

// TestEventStreamReconnects: the page's stream, read with fetch, sends the
// shopper's token, and reconnects by itself: after the stream ends it waits
// the server's retry: and sends Last-Event-ID; after a 503 it waits the
// Retry-After. A token the server refuses stops it, with words.
func TestEventStreamReconnects(t *testing.T) {
	type conn struct {
		auth, lastID string
		at           time.Time
	}
	var mu sync.Mutex
	var pat []conn
	lost := 0
	problem := func(w http.ResponseWriter, status int, typ string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"type":%q,"title":"refused","status":%d}`, typ, status)
	}
	url := fakeShop(t, map[string]http.HandlerFunc{
		"pat": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n := len(pat)
			pat = append(pat, conn{r.Header.Get("Authorization"), r.Header.Get("Last-Event-ID"), time.Now()})
			mu.Unlock()
			switch n {
			case 0: // one event, then the end
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, "retry: 300\n\n: hello\n\nid: 7\nevent: state\ndata: {\"user_id\":\"pat\",\"state\":\"waiting\",\"waitlist_position\":3}\n\n")
			case 1: // no room
				w.Header().Set("Retry-After", "1")
				problem(w, http.StatusServiceUnavailable, "/problems/streams-full")
			default: // an event in pieces, with CRLF, then open until the page leaves
				w.Header().Set("Content-Type", "text/event-stream")
				rc := http.NewResponseController(w)
				for _, piece := range []string{"id: 9\r\nevent: promoted\r", "\ndata: {\"user_id\":\"pat\",\r\ndata: \"state\":\"held\"}\r\n\r\n"} {
					_, _ = io.WriteString(w, piece)
					_ = rc.Flush()
					time.Sleep(50 * time.Millisecond)
				}
				<-r.Context().Done()
			}
		},
		"lost": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			lost++
			mu.Unlock()
			w.Header().Set("WWW-Authenticate", `Bearer realm="flashsale", error="invalid_token"`)
			problem(w, http.StatusUnauthorized, "/problems/unauthorized")
		},
	})
	browser := newBrowser(t, desktop)
	ctx := tab(t, browser, desktop, url+"/")
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`import("/static/stream.js").then(({ watch }) => {
  window.events = [];
  window.links = [];
  window.refused = [];
  watch("pat", "pat-token", { onState: (s, e) => events.push(e + " " + s.state), onLink: (l) => links.push(l) });
  watch("lost", "old-token", { onState: () => {}, onLink: () => {}, onRefused: (p, words) => refused.push(words) });
})`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "both events", `events.join() === "state waiting,promoted held"`)
	waitFor(t, ctx, "the refusal", `refused.length === 1`)
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`links`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"", "Reconnecting…", "The shop is busy or down; trying again in 1 second."} {
		if !slices.Contains(links, want) {
			t.Errorf("the stream's line said %q, never %q", links, want)
		}
	}
	refused, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`refused`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(refused[0], "has expired or is no longer accepted") {
		t.Errorf("the refusal says %q", refused[0])
	}

	mu.Lock()
	defer mu.Unlock()
	if len(pat) != 3 {
		t.Fatalf("pat's stream was opened %d times, want 3", len(pat))
	}
	for i, c := range pat {
		if c.auth != "Bearer pat-token" {
			t.Errorf("connection %d: Authorization %q", i, c.auth)
		}
	}
	if pat[0].lastID != "" || pat[1].lastID != "7" || pat[2].lastID != "7" {
		t.Errorf("Last-Event-ID sent: %q, %q, %q; want none, then 7 and 7", pat[0].lastID, pat[1].lastID, pat[2].lastID)
	}
	if d := pat[1].at.Sub(pat[0].at); d < 300*time.Millisecond {
		t.Errorf("reconnected %v after the stream, before the retry: of 300ms", d)
	}
	if d := pat[2].at.Sub(pat[1].at); d < time.Second {
		t.Errorf("reconnected %v after the 503, before its Retry-After of 1s", d)
	}
	if lost != 1 {
		t.Errorf("the refused stream was asked %d times, want once", lost)
	}
}
