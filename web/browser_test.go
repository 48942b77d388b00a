package web_test

// What every browser test needs: the real server on a loopback port, a
// headless Debian chromium driven through chromedp, and a way to wait for
// the page and to keep a picture of it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
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
