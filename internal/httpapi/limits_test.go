package httpapi_test

import (
	"strings"
	"testing"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
)

// The inventory bound is written twice by necessity, once for clients in
// api/openapi.yaml and once for the domain in sale.MaxInventory (which
// cannot read the document); this keeps the two the same.
func TestDocumentAndDomainAgreeOnTheInventoryBound(t *testing.T) {
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	prop := spec.Components.Schemas["InitializeRequest"].Value.Properties["total_inventory"].Value
	if prop.Max == nil || int64(*prop.Max) != sale.MaxInventory || prop.Min == nil || *prop.Min != 0 {
		t.Fatalf("api/openapi.yaml bounds total_inventory to %v..%v; sale.MaxInventory is %d", prop.Min, prop.Max, sale.MaxInventory)
	}
}

// Every answer, whoever writes it (a handler, the validator, the router's
// 404 and 405, the metrics), is marked uncacheable: stock and positions
// change from one moment to the next.
func TestEveryAnswerIsUncacheable(t *testing.T) {
	h := newHarness(t)
	h.initialize(1)
	for _, c := range []struct {
		method, path, contentType, body string
		header                          []string
		want                            int
	}{
		{"GET", "/status", "", "", nil, 200},
		{"POST", "/reserve", "application/json", `{"user_id":"a"}`, nil, 201},
		{"POST", "/reserve", "application/json", `{"user_id":""}`, nil, 400},
		{"POST", "/reserve", "text/plain", `{"user_id":"b"}`, nil, 415},
		{"POST", "/initialize", "application/json", `{"total_inventory":1}`, nil, 401},
		{"GET", "/users/a", "", "", nil, 200},
		{"GET", "/nope", "", "", nil, 404},
		{"PUT", "/status", "", "", nil, 405},
		{"GET", "/metrics", "", "", nil, 200},
		{"GET", "/healthz", "", "", nil, 200},
	} {
		resp, body := h.raw(c.method, c.path, c.contentType, strings.NewReader(c.body), c.header...)
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, resp.StatusCode, body, c.want)
		}
		if got := resp.Header.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want one no-store", c.method, c.path, got)
		}
	}
}
