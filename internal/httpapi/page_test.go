package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// The waiting room is served from the binary under a policy that allows it
// nothing but its own files; what is not one of them is a 404 problem.
func TestWaitingRoomFiles(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct{ path, contentType, has string }{
		{"/", "text/html", `<script type="module" src="/static/app.js">`},
		{"/static/app.js", "text/javascript", "import"},
		{"/static/style.css", "text/css", "{"},
	} {
		resp, body := h.raw(http.MethodGet, c.path, "", nil)
		wantStatus(t, resp.StatusCode, http.StatusOK, body)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, c.contentType) {
			t.Errorf("%s: Content-Type %q, want %s", c.path, ct, c.contentType)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", c.path, csp)
		}
		if !strings.Contains(string(body), c.has) {
			t.Errorf("%s: no %q in it", c.path, c.has)
		}
	}
	for _, path := range []string{"/static/", "/static/nope.js", "/static/..%2fweb.go", "/index.html"} {
		resp, body := h.raw(http.MethodGet, path, "", nil)
		wantProblem(t, resp.StatusCode, http.StatusNotFound, body, "/problems/not-found")
	}
}
