package httpapi_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDocsRenderInABrowser loads /docs in headless Chromium and checks that
// Swagger UI rendered every operation of the document. The machine has no
// route to any CDN, so this also proves the assets come from the binary.
//
// It needs Debian's chromium (.ci/run installs it). Without it the test skips,
// unless FLASHSALE_REQUIRE_BROWSER is set, as CI sets it, so a CI run cannot
// skip it silently.
func TestDocsRenderInABrowser(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("FLASHSALE_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium not found and FLASHSALE_REQUIRE_BROWSER is set")
		}
		t.Skip("chromium not installed (apt-get install -y chromium); skipping the browser test")
	}
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=15000", // let Swagger UI fetch the document and render
		"--dump-dom", h.srv.URL+"/docs/")
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	for _, path := range []string{"/initialize", "/reserve", "/status", "/reservations/{reservation_id}",
		"/reservations/{reservation_id}/confirm", "/reservations/{reservation_id}/cancel",
		"/users/{user_id}", "/waitlist/{user_id}", "/healthz"} {
		if !strings.Contains(string(dom), `data-path="`+path+`"`) {
			t.Errorf("Swagger UI did not render %s", path)
		}
	}
}
