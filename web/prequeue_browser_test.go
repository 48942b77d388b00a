package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Tokyo, on a machine without the zone files too

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/testkit"
)

// A scheduled sale in the waiting room: the pre-queue's countdown, the
// draw, and the close, with the shop on a fake clock.

// newClockedShop starts a shop with no sale initialized on clock, which
// the test moves. The browsers keep the real time: the countdowns they
// show count to the shop's times from their own clock.
func newClockedShop(t *testing.T, clock *clocktest.Clock) *shop {
	t.Helper()
	srv := testkit.Start(t, testkit.Options{
		Clock: clock,
		Sale:  sale.Config{HoldTTL: 2 * time.Minute},
		API:   httpapi.Config{AdminToken: adminToken},
	}).Server()
	return &shop{URL: srv.URL, srv: srv}
}

// inTimezone is an action for tab's before: the page runs in zone, as a
// shopper's browser abroad would.
func inTimezone(zone string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		_, err := cdp.Call(ctx, tab, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone})
		return err
	})
}

// saleStatus is GET /status.
func saleStatus(t *testing.T, s *shop) generated.Status {
	t.Helper()
	var st generated.Status
	request(t, http.MethodGet, s.URL+"/status", nil, http.StatusOK, &st)
	return st
}

// entrants is GET /draw/entrants, with the admin token.
func entrants(t *testing.T, s *shop) []string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+"/draw/entrants", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /draw/entrants: %d %q %v", res.StatusCode, body, err)
	}
	return strings.Fields(string(body))
}

// TestWaitingRoomPrequeueDraw: a sale of one unit scheduled to open in ten
// minutes. alice (her browser in Tokyo) and bob join its pre-queue; each
// page counts down to the draw, at the opening's time in the shopper's own
// zone, says that coming earlier does not help, and shows the draw's
// commitment. The clock passes the opening: the draw gives the unit to
// the one the seed and the entrants say (sale.DrawOrder, recomputed here)
// and the other is number 1 in line, each page told by its stream; the
// panel reveals the seed, whose SHA-256 is the commitment. The clock passes
// the close: the one in line sees the sale has ended, the holder keeps the
// hold and confirms it after the close, and a newcomer finds the sale
// ended on arrival and is told so again when pressing Buy.
func TestWaitingRoomPrequeueDraw(t *testing.T) {
	start := time.Now().UTC().Truncate(time.Second)
	fake := clocktest.New(start)
	shop := newClockedShop(t, fake)
	opens := start.Add(10 * time.Minute)
	closes := opens.Add(time.Minute) // before the draw's hold runs out (2 min)
	var st generated.Status
	request(t, http.MethodPost, shop.URL+"/initialize", map[string]any{
		"total_inventory": 1, "reset": true,
		"opens_at": opens.Format(time.RFC3339Nano), "closes_at": closes.Format(time.RFC3339Nano),
	}, http.StatusOK, &st)
	if st.Phase != generated.StatusPhaseScheduled || st.DrawCommitment == nil {
		t.Fatalf("initialize: phase %q, commitment %v; want a scheduled sale with a commitment", st.Phase, st.DrawCommitment)
	}
	commitment := *st.DrawCommitment

	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t, desktop)
	alice := shopper(t, browser, desktop, shop, inTimezone("Asia/Tokyo"))
	bob := shopper(t, browser, desktop, shop)
	pages := map[string]context.Context{"alice": alice, "bob": bob}
	local, err := chromedp.Run(bob, chromedp.Evaluate[string](`Intl.DateTimeFormat().resolvedOptions().timeZone`))
	if err != nil {
		t.Fatal(err)
	}
	here, err := time.LoadLocation(local)
	if err != nil {
		t.Fatalf("the browser's zone %q: %v", local, err)
	}
	drawnAt := map[string]string{"alice": opens.In(tokyo).Format("15:04:05"), "bob": opens.In(here).Format("15:04:05")}

	for _, name := range []string{"alice", "bob"} {
		page := pages[name]
		buy(t, page, name)
		waitFor(t, page, name+" in the pre-queue",
			shows("prequeue", "You are in the pre-queue; places are drawn at "+drawnAt[name])+" && "+
				shows("prequeue", "Coming earlier does not help")+" && "+
				shows("link", "Live updates for "+name))
		first := textOf(t, page, "opening-countdown")
		if !clock.MatchString(first) || first == "00:00" {
			t.Fatalf("%s's countdown to the draw shows %q, want mm:ss of the ten minutes left", name, first)
		}
		waitFor(t, page, name+"'s countdown to tick", fmt.Sprintf(`document.getElementById("opening-countdown").innerText !== %q`, first))
		shown, err := chromedp.Run(page, chromedp.Evaluate[[2]string](`[document.getElementById("commitment").innerText, document.getElementById("commitment").title]`))
		if err != nil {
			t.Fatal(err)
		}
		if shown[1] != commitment || !strings.HasPrefix(commitment, strings.TrimSuffix(shown[0], "…")) || len(shown[0]) < 9 {
			t.Errorf("%s's page shows the commitment %q (title %q), want a start of %s and all of it in the title", name, shown[0], shown[1], commitment)
		}
	}
	for name, page := range pages {
		waitFor(t, page, name+"'s panel to count the pre-queue",
			shows("window-note", "2 in the pre-queue")+" && "+shows("stock", "1")+" && "+
				`document.getElementById("draw-commitment").textContent === "`+commitment+`" && document.getElementById("draw-seed-shown").hidden`)
	}
	screenshot(t, alice, "waiting-room-prequeue-alice.png")

	// The opening. Any call of the shop's makes the draw once its time has
	// come (the server's sweeper does it within a second when nobody calls;
	// the pages' panels ask every second anyway): this one does it now.
	fake.Set(opens.Add(time.Second))
	st = saleStatus(t, shop)
	if st.Phase != generated.StatusPhaseOpen || st.DrawSeed == nil {
		t.Fatalf("after the opening: phase %q, seed %v; want open with the seed revealed", st.Phase, st.DrawSeed)
	}
	seed := *st.DrawSeed
	raw, err := hex.DecodeString(seed)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != commitment {
		t.Fatalf("SHA-256 of the seed %s is %x, not the commitment %s", seed, sum, commitment)
	}
	order := sale.DrawOrder(raw, entrants(t, shop))
	if len(order) != 2 {
		t.Fatalf("the draw ordered %q, want alice and bob", order)
	}
	winner, second := order[0], order[1]
	waitFor(t, pages[winner], winner+"'s hold from the draw",
		shows("hold", "You have one reserved")+" && "+shows("message", "The draw is made, and one is yours!")+
			` && document.getElementById("prequeue").hidden`)
	waitFor(t, pages[second], second+"'s place from the draw",
		shows("line", "You are number 1 in line")+" && "+shows("message", "The draw is made: you are number 1 in line")+
			` && document.getElementById("prequeue").hidden`)
	for name, page := range pages {
		waitFor(t, page, name+"'s panel to reveal the seed",
			`!document.getElementById("draw-seed-shown").closest("[hidden]") && document.getElementById("draw-seed").textContent === "`+seed+`"`)
	}
	screenshot(t, pages[second], "waiting-room-drawn-line.png")

	// The close: the line is gone, the hold stands until it runs out.
	fake.Set(closes.Add(time.Second))
	if st = saleStatus(t, shop); st.Phase != generated.StatusPhaseClosed {
		t.Fatalf("after the close: phase %q", st.Phase)
	}
	waitFor(t, pages[second], second+" told the sale has ended",
		shows("ended", "The sale has ended")+` && document.getElementById("line").hidden`)
	waitFor(t, pages[winner], winner+"'s hold, still to confirm",
		shows("hold", "You have one reserved")+" && "+shows("hold-closed", "can still be confirmed")+` && document.getElementById("ended").hidden`)
	screenshot(t, pages[second], "waiting-room-ended.png")
	click(t, pages[winner], "confirm")
	waitFor(t, pages[winner], winner+"'s purchase after the close", shows("done", "Bought")+` && document.getElementById("ended").hidden`)

	carol := shopper(t, browser, desktop, shop)
	waitFor(t, carol, "the ended sale on arrival", shows("ended", "The sale has ended")+" && "+shows("window-note", "The sale ended at"))
	buy(t, carol, "carol")
	waitFor(t, carol, "a Buy after the close, refused in words",
		shows("message", "The sale has ended: nothing more is handed out.")+" && "+shows("ended", "The sale has ended"))
}

// TestWaitingRoomPrequeueOnAPhone: on a 390 px wide screen, a long name in
// the pre-queue, the countdown and the draw's commitment, whole in "Check
// the draw", fit the screen.
func TestWaitingRoomPrequeueOnAPhone(t *testing.T) {
	fake := clocktest.New(time.Now().UTC().Truncate(time.Second))
	shop := newClockedShop(t, fake)
	request(t, http.MethodPost, shop.URL+"/initialize", map[string]any{
		"total_inventory": 5, "reset": true, "opens_at": fake.Now().Add(3 * time.Hour).Format(time.RFC3339Nano),
	}, http.StatusOK, nil)
	browser := newBrowser(t, phone)
	dan := shopper(t, browser, phone, shop)

	const name = "dan.with.a.rather.long.name@example.org"
	buy(t, dan, name)
	waitFor(t, dan, "dan in the pre-queue", shows("prequeue", "You are in the pre-queue")+" && "+shows("link", name))
	// Three hours ahead: the countdown has hours.
	if c := textOf(t, dan, "opening-countdown"); !regexp.MustCompile(`^[23]:\d\d:\d\d$`).MatchString(c) {
		t.Fatalf("the countdown to the draw shows %q, want h:mm:ss of the three hours left", c)
	}
	waitFor(t, dan, "the panel's draw", `!document.getElementById("draw").hidden`)
	if err := chromedp.Do(dan, chromedp.Click(chromedp.CSS(".draw summary"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, dan, "the draw's commitment in full", `document.getElementById("draw").open && document.getElementById("draw-commitment").innerText.length === 64`)
	checkFits(t, dan)
	screenshot(t, dan, "waiting-room-prequeue-phone.png")
}
