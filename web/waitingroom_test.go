package web_test

import (
	"context"
	"net/http"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/flashsale/flashsale/internal/live"
)

// buy types name and presses Buy.
func buy(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		// The value property, not the attribute (chromedp.Clear's): the
		// property is what holds what was typed.
		chromedp.Evaluate[chromedp.Void](`document.getElementById("name").value = ""`),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.Click(chromedp.ID("buy")),
	); err != nil {
		t.Fatalf("buy as %s: %v", name, err)
	}
}

func click(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID(id))); err != nil {
		t.Fatalf("click #%s: %v", id, err)
	}
}

var clock = regexp.MustCompile(`^\d\d:\d\d$`)

// TestWaitingRoomPromotesLive: one unit, alice holds it and bob waits; when
// alice cancels, bob's page turns into a hold by itself, with no reload,
// because the event stream told it.
func TestWaitingRoomPromotesLive(t *testing.T) {
	shop := newShop(t)
	startSale(t, shop, 1)
	// A unit that reached the line gives the hub a rate, so that bob is
	// shown an estimated wait rather than "estimating…".
	var scout struct {
		ReservationID string `json:"reservation_id"`
	}
	request(t, http.MethodPost, shop.URL+"/reserve", map[string]string{"user_id": "scout"}, http.StatusCreated, &scout)
	request(t, http.MethodPost, shop.URL+"/reservations/"+scout.ReservationID+"/cancel", nil, http.StatusOK, nil)

	browser := newBrowser(t, desktop)
	alice := shopper(t, browser, desktop, shop)
	bob := shopper(t, browser, desktop, shop)

	buy(t, alice, "alice")
	waitFor(t, alice, "alice's hold", shows("hold", "You have one reserved"))
	first := textOf(t, alice, "countdown")
	if !clock.MatchString(first) || first == "00:00" {
		t.Fatalf("countdown shows %q, want mm:ss of the time left", first)
	}
	waitFor(t, alice, "the countdown to tick", `document.getElementById("countdown").innerText !== "`+first+`"`)
	if now := textOf(t, alice, "countdown"); !clock.MatchString(now) {
		t.Fatalf("countdown shows %q, want mm:ss", now)
	}

	buy(t, bob, "bob")
	waitFor(t, bob, "bob's place in line", shows("line", "You are number 1 in line"))
	waitFor(t, bob, "an estimated wait", shows("wait", "about"))
	waitFor(t, bob, "the panel to count bob in line", shows("waiting", "1")+" && "+shows("held", "1"))
	screenshot(t, bob, "waiting-room-line-bob.png")
	screenshot(t, alice, "waiting-room-holding-alice.png")

	click(t, alice, "cancel")
	waitFor(t, alice, "alice's cancellation", shows("message", "Cancelled"))
	waitFor(t, bob, "bob's promotion", shows("hold", "You have one reserved")+` && document.getElementById("line").hidden`)
	waitFor(t, bob, "the news of it", shows("message", "Your turn!"))
	if c := textOf(t, bob, "countdown"); !clock.MatchString(c) {
		t.Fatalf("bob's countdown shows %q, want mm:ss", c)
	}
	waitFor(t, bob, "the panel to see the line empty", shows("waiting", "0")+" && "+shows("held", "1"))
	screenshot(t, bob, "waiting-room-promoted-bob.png")
}

// TestWaitingRoomConfirmCountsASale: a confirmed hold is a sale, and the
// live panel counts it.
func TestWaitingRoomConfirmCountsASale(t *testing.T) {
	shop := newShop(t)
	startSale(t, shop, 3)
	browser := newBrowser(t, desktop)
	alice := shopper(t, browser, desktop, shop)

	waitFor(t, alice, "the panel", shows("sold", "0")+" && "+shows("total", "3"))
	buy(t, alice, "alice")
	waitFor(t, alice, "alice's hold", shows("hold", "You have one reserved"))
	waitFor(t, alice, "the panel to count the hold", shows("held", "1")+" && "+shows("stock", "2"))
	// Buy again: the shop says already-reserved, which is no error to her.
	click(t, alice, "buy")
	waitFor(t, alice, "the same hold again", shows("message", "You already have one")+" && "+shows("hold", "You have one reserved"))
	click(t, alice, "confirm")
	waitFor(t, alice, "the purchase", shows("done", "Bought")+` && document.getElementById("hold").hidden`)
	waitFor(t, alice, "the panel to count the sale", shows("sold", "1")+" && "+shows("held", "0"))

	// After a reload the page follows her again, and her stream's first
	// event says what she has.
	if err := chromedp.Do(alice, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("buy"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, "the purchase after a reload", shows("done", "Bought")+" && "+shows("sold", "1"))
	screenshot(t, alice, "waiting-room-bought.png")
}

// TestWaitingRoomLeaveTheLine: a shopper in line can leave it, and the
// line is shorter by one.
func TestWaitingRoomLeaveTheLine(t *testing.T) {
	shop := newShop(t)
	startSale(t, shop, 1)
	request(t, http.MethodPost, shop.URL+"/reserve", map[string]string{"user_id": "scout"}, http.StatusCreated, nil)
	browser := newBrowser(t, desktop)
	erin := shopper(t, browser, desktop, shop)

	buy(t, erin, "erin")
	waitFor(t, erin, "erin's place in line", shows("line", "You are number 1 in line")+" && "+shows("wait", "estimating…"))
	waitFor(t, erin, "the panel to count her", shows("waiting", "1"))
	click(t, erin, "leave")
	waitFor(t, erin, "erin out of the line", shows("message", "You left the line.")+` && document.getElementById("line").hidden`)
	waitFor(t, erin, "the panel to count her out", shows("waiting", "0"))
}

// TestWaitingRoomTooManyTabs: a name open in more tabs than the shop
// streams to one user is told so in the extra tab, which takes over by
// itself once another tab closes.
func TestWaitingRoomTooManyTabs(t *testing.T) {
	shop := newShop(t)
	startSale(t, shop, 1)
	browser := newBrowser(t, desktop)

	// Every tab is dave's own browser's, which keeps his token for all.
	var tabs []context.Context
	for range live.DefaultMaxPerUser {
		ctx := sameShopper(t, browser, desktop, shop)
		buy(t, ctx, "dave")
		waitFor(t, ctx, "dave's stream", shows("link", "Live updates for dave")+" && "+shows("hold", "You have one reserved"))
		tabs = append(tabs, ctx)
	}
	extra := sameShopper(t, browser, desktop, shop)
	buy(t, extra, "dave")
	// Its Buy is answered already-reserved: the tab reads dave's hold
	// instead of waiting for a stream it cannot have.
	waitFor(t, extra, "the refusal in words", shows("link", "This name is open in too many tabs.")+" && "+shows("hold", "You have one reserved"))
	screenshot(t, extra, "waiting-room-too-many-tabs.png")

	if err := chromedp.Cancel(tabs[0]); err != nil {
		t.Fatalf("close a tab: %v", err)
	}
	waitFor(t, extra, "the extra tab to take over", shows("link", "Live updates for dave")+" && "+shows("hold", "You have one reserved"))
}

// TestWaitingRoomShowsErrorsAsWords: what goes wrong is said in a sentence,
// never as the server's JSON.
func TestWaitingRoomShowsErrorsAsWords(t *testing.T) {
	shop := newShop(t)
	browser := newBrowser(t, desktop)
	alice := shopper(t, browser, desktop, shop)

	// Checked in the page, before anything is sent.
	buy(t, alice, "alice smith")
	waitFor(t, alice, "the name refused", shows("message", "That name cannot be used")+" && "+shows("message", "spaces"))

	buy(t, alice, "alice")
	waitFor(t, alice, "the sale not started", shows("message", "The sale has not started yet."))
	waitFor(t, alice, "the panel to say so too", shows("panel-note", "The sale has not started yet."))
	// The help holds a JSON body in its curl example, but it is closed,
	// so innerText leaves it out: any { left is an answer shown raw.
	if body := textOf(t, alice, "shopper") + textOf(t, alice, "panel"); regexp.MustCompile(`[{}]`).MatchString(body) {
		t.Fatalf("the page shows JSON: %q", body)
	}
	screenshot(t, alice, "waiting-room-not-started.png")
}

// TestWaitingRoomOnAPhone: on a 390 px wide screen, holding a unit under a
// long name, nothing is wider than the screen.
func TestWaitingRoomOnAPhone(t *testing.T) {
	shop := newShop(t)
	startSale(t, shop, 5)
	browser := newBrowser(t, phone)
	carol := shopper(t, browser, phone, shop)

	const name = "carol.with.a.rather.long.name@example.org"
	buy(t, carol, name)
	waitFor(t, carol, "carol's hold", shows("hold", "You have one reserved")+" && "+shows("link", name))
	waitFor(t, carol, "the panel", shows("held", "1"))
	width, err := chromedp.Run(carol, chromedp.Evaluate[int](`window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width > 400 {
		t.Fatalf("the window is %d px wide, want a phone's", width)
	}
	checkFits(t, carol)
	screenshot(t, carol, "waiting-room-phone.png")

	// The help has the widest thing on the page, a curl command.
	if err := chromedp.Do(carol, chromedp.Click(chromedp.CSS(".help summary"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, carol, "the help to open", `document.querySelector(".help").open`)
	checkFits(t, carol)
}

// checkFits fails the test if the page is wider than the window, which on
// a phone means sideways scrolling.
func checkFits(t *testing.T, ctx context.Context) {
	t.Helper()
	widths, err := chromedp.Run(ctx, chromedp.Evaluate[[2]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
	if err != nil {
		t.Fatal(err)
	}
	if widths[0] > widths[1] {
		t.Fatalf("the page is %d px wide in a %d px window", widths[0], widths[1])
	}
}

// TestWaitingRoomShopDown: when the shop stops answering, the page says so
// in words, in the panel, the stream's line and the answer to a press, and
// keeps trying.
func TestWaitingRoomShopDown(t *testing.T) {
	shop := newShop(t)
	startSale(t, shop, 1)
	browser := newBrowser(t, desktop)
	frank := shopper(t, browser, desktop, shop)
	buy(t, frank, "frank")
	waitFor(t, frank, "frank's hold", shows("hold", "You have one reserved")+" && "+shows("link", "Live updates for frank"))

	shop.down()
	const words = "Cannot reach the shop; retrying…"
	waitFor(t, frank, "the panel to notice", shows("panel-note", words))
	// The browser retries the stream by itself (it stays CONNECTING), or
	// gives up (CLOSED) and the page retries: either way it says so.
	waitFor(t, frank, "the stream to notice", shows("link", "Reconnecting…")+" || "+shows("link", words))
	click(t, frank, "confirm")
	waitFor(t, frank, "the confirm to wait", shows("message", words))
	screenshot(t, frank, "waiting-room-shop-down.png")
}
