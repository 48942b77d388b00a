package web_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/flashsale/flashsale/internal/httpapi"
	shoptokens "github.com/flashsale/flashsale/internal/shopper"
)

// Shoppers apart: two profiles never see each other's hold, a second tab
// is the same shopper, and the shop's own tokens come in by the fragment.

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
