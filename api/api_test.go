package api_test

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/flashsale/flashsale/api"
)

// TestSpecIsValid lints the document: it must be valid OpenAPI 3.0, and
// every example in it must match its schema, so that what the document shows
// clients is what the server can send.
func TestSpecIsValid(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.Spec)
	if err != nil {
		t.Fatalf("load api/openapi.yaml: %v", err)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
}
