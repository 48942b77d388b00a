package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDocsTryItOut uses Swagger UI at /docs/ as a person would: open
// GET /status, press "Try it out", then "Execute", and read the answer. The
// machine reaches no CDN, so this also shows that Swagger UI comes whole
// from the binary.
func TestDocsTryItOut(t *testing.T) {
	shop := newShop(t)
	startSale(t, shop, 10)
	browser := newBrowser(t, desktop)
	ctx := tab(t, browser, desktop, shop.URL+"/docs/")

	// Swagger UI names each operation's block operations-<tag>-<operationId>.
	const op = "#operations-sale-getStatus"
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(op)),
		chromedp.Click(chromedp.CSS(op+" .opblock-summary")),
		chromedp.WaitVisible(chromedp.CSS(op+" .try-out__btn")),
		chromedp.Click(chromedp.CSS(op+" .try-out__btn")),
		chromedp.WaitVisible(chromedp.CSS(op+" .execute")),
		chromedp.Click(chromedp.CSS(op+" .execute")),
	); err != nil {
		t.Fatalf("try GET /status in Swagger UI: %v", err)
	}
	waitFor(t, ctx, "the answer in Swagger UI",
		`(document.querySelector("`+op+` .live-responses-table")?.innerText ?? "").includes('"total_inventory": 10')`)
	screenshot(t, ctx, "docs-try-it-out.png")
}
