package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/go-chi/chi/v5"
)

// requestValidator checks every API request against api/openapi.yaml before
// its handler sees it, and answers what fails with a problem body. It is the
// request's only validator and reads its body once:
//
//   - Routing is chi's, done once. The document's operation for the route
//     chi matched comes from a table built at start (chi's route patterns
//     are the document's paths), so kin-openapi never routes again.
//   - kin-openapi checks the security and the parameters
//     (openapi3filter.ValidateRequest). The body is checked against its
//     schema by the plan compiled from it at start (bodyplan.go), or, for
//     whatever the plan is not sure of, by openapi3.Schema.VisitJSON, whose
//     words every refusal keeps. The body is read and decoded once, here,
//     and the decoded value rides on r.Body to the generated strict handler,
//     whose runtime.BindJSONBody binds it into the typed request instead of
//     parsing the bytes again.
type requestValidator struct {
	ops  map[opKey]*operation
	opts *openapi3filter.Options
	auth *authenticator
	// addrs: new users are limited per client address, which is then read
	// for every unproven caller, through the proxies trusted.
	addrs   bool
	trusted []netip.Prefix
	log     *slog.Logger
}

// opKey names an operation by its method and its path in the document,
// which is chi's route pattern: a key that needs no string built per
// request.
type opKey struct{ method, path string }

// operation is what the validator needs of one operation of the document.
type operation struct {
	route *routers.Route
	// access is who the operation admits, from its security; the
	// authenticator checks it, before anything else of the request.
	access access
	// checked: the operation has path parameters for ValidateRequest to
	// check on every request (POST /reserve has none).
	checked bool
	// headers are its optional header parameters (Idempotency-Key):
	// ValidateRequest checks them only when the request has one, so that
	// a request without any pays nothing for them.
	headers []string
	body    *requestBody // nil when the operation takes none
}

// check says whether ValidateRequest has anything to check in r.
func (o *operation) check(r *http.Request) bool {
	if o.checked {
		return true
	}
	for _, h := range o.headers {
		if _, ok := r.Header[h]; ok {
			return true
		}
	}
	return false
}

func newRequestValidator(spec *openapi3.T, auth *authenticator, addrs bool, trusted []netip.Prefix, log *slog.Logger) (*requestValidator, error) {
	v := &requestValidator{
		ops: make(map[opKey]*operation),
		opts: &openapi3filter.Options{
			// Security is this validator's own first step (authenticate):
			// kin-openapi would ask once per scheme of each alternative.
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			// The body is this validator's own step, below.
			ExcludeRequestBody: true,
		},
		auth:    auth,
		addrs:   addrs,
		trusted: trusted,
		log:     log,
	}
	// A parameter's error says what is wrong with it, not the whole schema
	// and value that kin-openapi would print after it.
	v.opts.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string { return err.Reason })
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			security := spec.Security
			if op.Security != nil {
				security = *op.Security
			}
			acc, err := accessOf(security)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, err)
			}
			o := &operation{
				route:  &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op},
				access: acc,
			}
			for _, p := range slices.Concat(item.Parameters, op.Parameters) {
				if p.Value.In == openapi3.ParameterInHeader && !p.Value.Required {
					o.headers = append(o.headers, http.CanonicalHeaderKey(p.Value.Name))
				} else {
					o.checked = true
				}
			}
			if rb := op.RequestBody; rb != nil {
				media := rb.Value.Content.Get("application/json")
				if len(rb.Value.Content) != 1 || media == nil || media.Schema == nil {
					return nil, fmt.Errorf("%s %s: a request body must be application/json with a schema, and only that", method, path)
				}
				o.body = &requestBody{doc: rb.Value, schema: media.Schema.Value}
				if o.body.plan, err = compileBody(media.Schema.Value); err != nil {
					// Correct either way, only slower: said once, at start.
					log.Info("a request body is checked by the general path", "operation", method+" "+path, "why", err)
				}
				if ref := media.Schema.Ref; ref != "" {
					o.body.schemaID = " " + ref
				}
			}
			v.ops[opKey{method, path}] = o
		}
	}
	return v, nil
}

// operation is the document's operation for the route chi matched for r,
// by the method chi routed (GET for a HEAD request).
func (v *requestValidator) operation(r *http.Request) *operation {
	rc := chi.RouteContext(r.Context())
	return v.ops[opKey{rc.RouteMethod, rc.RoutePattern()}]
}

// middleware runs after chi has routed (it is the API route group's), so the
// route pattern and path parameters are known.
func (v *requestValidator) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := v.operation(r)
		if op == nil {
			// Every route of the group is generated from the document, so
			// this is a bug; failing closed keeps it from serving unchecked.
			v.log.Error("no operation in the document for a served route", "method", r.Method, "route", chi.RouteContext(r.Context()).RoutePattern())
			writeProblem(w, internalProblem())
			return
		}
		// A path the document has no operation for (an empty segment) is
		// 404 to anyone, token or not.
		params, p, ok := pathParams(r)
		if !ok {
			writeProblem(w, p)
			return
		}
		if !op.access.open() {
			who, err := v.auth.authenticate(r.Context(), r, op.access)
			if err != nil {
				v.refuse(w, r, err)
				return
			}
			switch {
			case !who.anonymous():
				r = r.WithContext(context.WithValue(r.Context(), callerKey{}, who))
			case op.access.shopper && v.addrs:
				// Someone unproven where shoppers go: a new user's first
				// reserve, limited per client address.
				r = r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, clientAddr(r, v.trusted)))
			}
		}
		if op.body != nil {
			if p, ok := checkBodyHeaders(r); !ok {
				writeProblem(w, p)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		}
		var err error
		if op.check(r) {
			err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
				Request: r, PathParams: params, Route: op.route, Options: v.opts,
			})
		}
		if err == nil && op.body != nil {
			err = op.body.validate(r)
		}
		if err != nil {
			p := validationProblem(err)
			v.log.Debug("request rejected", "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
			writeProblem(w, p)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuse answers a request whose caller is refused: 401 with a challenge,
// or 503 when the secrets that check the token cannot be read.
func (v *requestValidator) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var unauth *unauthenticated
	if errors.As(err, &unauth) {
		v.log.Debug("request unauthenticated", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("WWW-Authenticate", challenge(unauth))
		writeProblem(w, problem(probUnauthorized, unauth.why))
		return
	}
	v.log.Warn("cannot check a bearer token", "method", r.Method, "path", r.URL.Path, "err", err)
	secs := retrySeconds(sale.RetryAfter)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeProblem(w, problem(probUnavailable, fmt.Sprintf("the keys that check tokens cannot be read right now; nothing was done; retry in %ds", secs)))
}

type clientAddrKey struct{}

// clientAddrOf is the client address of an unproven caller's request.
func clientAddrOf(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}

// pathParams are the path parameters chi matched, unescaped as the
// generated handlers unescape them, so that the value validated is the value
// served: chi matches on the escaped path when the request has one
// (/users/al%69ce), and that is the same URL as /users/alice (RFC 3986).
// An empty segment (/reservations//confirm) names no operation in the
// document, whose path parameters are all required: 404, as for any other
// path it does not have.
func pathParams(r *http.Request) (map[string]string, generated.Problem, bool) {
	keys := chi.RouteContext(r.Context()).URLParams
	if len(keys.Keys) == 0 {
		return nil, generated.Problem{}, true
	}
	params := make(map[string]string, len(keys.Keys))
	for i, k := range keys.Keys {
		val := keys.Values[i]
		if val == "" {
			return nil, problem(probNotFound, "no route "+r.URL.Path), false
		}
		if r.URL.RawPath != "" {
			u, err := url.PathUnescape(val)
			if err != nil {
				return nil, problem(probInvalid, fmt.Sprintf("path parameter %q is not a valid escaped path segment", k)), false
			}
			val = u
		}
		params[k] = val
	}
	return params, generated.Problem{}, true
}

// validationProblem maps what the validator found to the answer.
func validationProblem(err error) generated.Problem {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return tooLargeProblem(tooLarge.Limit)
	}
	return problem(probInvalid, err.Error())
}
