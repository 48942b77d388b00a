package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync"

	"github.com/flashsale/flashsale/generated"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/go-chi/chi/v5"
	middleware "github.com/oapi-codegen/nethttp-middleware"
)

// maxBody bounds request bodies; larger ones get 413 before any decoding.
const maxBody = 1 << 20

// validator checks every request against api/openapi.yaml before a handler
// sees it, and answers what fails with a problem body.
func validator(spec *openapi3.T, pre *reservePrecheck, adminToken string, log *slog.Logger) func(http.Handler) http.Handler {
	registerDecoder.Do(func() { openapi3filter.RegisterBodyDecoder("application/json", strictJSON) })
	return middleware.OapiRequestValidatorWithOptions(spec, &middleware.Options{
		// Servers in the document are for humans; match routes by path only.
		DoNotValidateServers: true,
		// Bodies the precheck vouches for are valid by the same rules.
		Skipper: pre.skip,
		Options: openapi3filter.Options{
			AuthenticationFunc: adminAuth(adminToken),
			// Defaults are applied by the handlers; filling them in here
			// would make the validator re-encode every body.
			SkipSettingDefaults: true,
			// Errors name the field and the rule, not the whole schema and
			// value: shorter answers, no echo of inputs, a cheaper failure path.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
		ErrorHandlerWithOpts: func(_ context.Context, err error, w http.ResponseWriter, r *http.Request, _ middleware.ErrorHandlerOpts) {
			p := validationProblem(err)
			if p.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="flashsale"`)
			}
			log.Debug("request rejected", "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
			writeProblem(w, p)
		},
	})
}

// validationProblem maps what the validator found to the answer.
func validationProblem(err error) generated.Problem {
	var tooLarge *http.MaxBytesError
	var sec *openapi3filter.SecurityRequirementsError
	var route *routers.RouteError
	switch {
	case errors.As(err, &tooLarge):
		return problem(probTooLarge, fmt.Sprintf("the request body must be at most %d bytes", tooLarge.Limit))
	case errors.As(err, &sec):
		return problem(probUnauthorized, "a valid admin token is required in the Authorization header, as Bearer followed by the token")
	case errors.As(err, &route) && errors.Is(err, routers.ErrMethodNotAllowed):
		return problem(probMethod, err.Error())
	case errors.As(err, &route):
		return problem(probNotFound, err.Error())
	}
	return problem(probInvalid, err.Error())
}

// requireJSON runs after routing (it is a route group's middleware), so the
// matched route pattern is known. It answers 415 to a body that is not JSON on an operation that
// takes one, and 413 to a body over maxBody, before anything reads it.
// Bodies on other operations are never read, so they are let through.
func requireJSON(withBody map[string]bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !withBody[r.Method+" "+chi.RouteContext(r.Context()).RoutePattern()] {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > maxBody {
				writeProblem(w, problem(probTooLarge, fmt.Sprintf("the request body must be at most %d bytes", maxBody)))
				return
			}
			if r.ContentLength != 0 {
				ct := r.Header.Get("Content-Type")
				mt, _, err := mime.ParseMediaType(ct)
				if err != nil || mt != "application/json" {
					if ct == "" {
						ct = "missing"
					}
					writeProblem(w, problem(probMediaType, "the request body must be application/json, not "+ct))
					return
				}
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			next.ServeHTTP(w, r)
		})
	}
}

// operationsWithBody lists "METHOD /path" of every operation that takes a
// request body, read from the document so that it cannot drift.
func operationsWithBody(spec *openapi3.T) map[string]bool {
	out := make(map[string]bool)
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody != nil {
				out[method+" "+path] = true
			}
		}
	}
	return out
}

var registerDecoder sync.Once

// strictJSON is kin-openapi's JSON body decoder plus one rule: nothing may
// follow the JSON value. Without it `{"user_id":"a"} {"user_id":"b"}` would
// pass validation and reserve for a, which is not what the client sent.
// kin-openapi keeps body decoders in a process-wide registry, so New
// registers this one once.
func strictJSON(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	dec := json.NewDecoder(body)
	dec.UseNumber() // as kin-openapi does: integers stay exact for the schema check
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: errors.New("unexpected data after the JSON value")}
	}
	return v, nil
}
