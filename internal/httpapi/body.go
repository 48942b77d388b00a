package httpapi

import (
	"bytes"
	"io"
	"mime"
	"net/http"

	"github.com/flashsale/flashsale/generated"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// MaxBody bounds request bodies; larger ones get 413 before any decoding.
const MaxBody = 1 << 20

// requestBody is an operation's request body as the document declares it:
// the one validation step of a body, and its one decoding.
type requestBody struct {
	doc      *openapi3.RequestBody
	schema   *openapi3.Schema
	schemaID string // " #/components/schemas/Name", for error messages
	// plan is the schema compiled (bodyplan.go), nil when it has what a
	// plan does not check: then every body takes the general path.
	plan *bodyPlan
}

// bodyOptions are the schema checks of every body: as a request (readOnly
// rules), with error details off (short messages, no echo of inputs, a
// cheaper failure path).
var bodyOptions = []openapi3.SchemaValidationOption{openapi3.VisitAsRequest(), openapi3.DisableSchemaErrorDetails()}

// checkBodyHeaders answers 413 to a declared body over MaxBody and 415 to a
// body that is not JSON, before anything reads it.
func checkBodyHeaders(r *http.Request) (generated.Problem, bool) {
	if r.ContentLength > MaxBody {
		return tooLargeProblem(MaxBody), false
	}
	if r.ContentLength != 0 {
		ct := r.Header.Get("Content-Type")
		if ct == "application/json" {
			return generated.Problem{}, true // as nearly every client sends it: nothing to parse
		}
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			if ct == "" {
				ct = "missing"
			}
			return problem(probMediaType, "the request body must be application/json, not "+ct), false
		}
	}
	return generated.Problem{}, true
}

// validate reads r's body, decodes it, checks it against the schema and
// leaves the value on r.Body for the strict handler. Its errors are
// kin-openapi's, worded as ValidateRequestBody words them.
func (b *requestBody) validate(r *http.Request) error {
	data, err := readBody(r)
	r.Body.Close()
	if err != nil {
		return &openapi3filter.RequestError{RequestBody: b.doc, Reason: "reading failed", Err: err}
	}
	if len(data) == 0 {
		if b.doc.Required {
			return &openapi3filter.RequestError{RequestBody: b.doc, Err: openapi3filter.ErrInvalidRequired}
		}
		r.Body = http.NoBody
		return nil
	}
	if b.plan != nil {
		if value, ok := b.plan.accept(data); ok {
			r.Body = newValidatedBody(data, value)
			return nil
		}
	}
	// The general path: whatever the plan was not sure of, every refusal
	// among it, which is then worded by kin-openapi.
	value, err := decodeJSON(data)
	if err != nil {
		return &openapi3filter.RequestError{RequestBody: b.doc, Reason: "failed to decode request body", Err: err}
	}
	// Integers are made exact first, so that the schema checks the value
	// the handler will be given.
	if value, err = wholeNumbers(b.schema, value); err == nil {
		err = b.schema.VisitJSON(value, bodyOptions...)
	}
	if err != nil {
		return &openapi3filter.RequestError{RequestBody: b.doc, Reason: "doesn't match schema" + b.schemaID, Err: err}
	}
	r.Body = newValidatedBody(data, value)
	return nil
}

// readBody reads the whole body: into a slice of its declared length when it
// has one (nearly always, and a few dozen bytes), so that reading it costs
// one small allocation rather than io.ReadAll's growing buffer.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength <= 0 {
		return io.ReadAll(r.Body) // chunked: MaxBytesReader refuses it past MaxBody
	}
	data := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, data); err != nil {
		return nil, err
	}
	return data, nil
}

// validatedBody is a body that was validated: runtime.BindJSONBody (in the
// generated strict handler) binds ValidatedValue into the typed request. The
// bytes stay readable, for a value that does not bind.
type validatedBody struct {
	bytes.Reader
	value any
}

// newValidatedBody is one allocation: the reader is held by value.
func newValidatedBody(data []byte, value any) *validatedBody {
	b := &validatedBody{value: value}
	b.Reset(data)
	return b
}

func (b *validatedBody) ValidatedValue() any { return b.value }
func (b *validatedBody) Close() error        { return nil }
