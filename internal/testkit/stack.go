// Package testkit starts what tests run against, one way each, so that a
// test says what it needs and not how it is wired:
//
//   - Start: the whole service in this process (store, HTTP API, event
//     streams) over any store, memory, SQLite or PostgreSQL, on the real
//     clock or a fake one, as one server or as several sharing one
//     PostgreSQL database; each server reached through a typed client whose
//     every answer is checked against api/openapi.yaml.
//   - Each: a test run once over every kind of stack (memory, SQLite,
//     PostgreSQL, two servers on PostgreSQL), one call.
//   - StartProcess and StartRun: the real server as a process of its own
//     (internal/serverbin builds it), or a command's run function in this
//     process; either way its address is read from its log in one way.
//
// Every test that starts a server starts it here.
package testkit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/memory"
	"github.com/flashsale/flashsale/internal/store/postgres"
	"github.com/flashsale/flashsale/internal/store/sqlite"
	"github.com/flashsale/flashsale/internal/webhook"
)

// AdminToken is the admin token of every stack whose options name none.
const AdminToken = "test-admin-token"

// StoreKind names where a stack keeps its sale.
type StoreKind string

const (
	Memory   StoreKind = "memory"
	SQLite   StoreKind = "sqlite"
	Postgres StoreKind = "postgres"
)

// Options say what to start. The zero value is one server over the memory
// store on the real clock, with rate limiting off (per user, and of new
// users per address), and the sale's own shopper tokens.
type Options struct {
	// Store is where the sale is kept (default Memory).
	Store StoreKind
	// Servers is how many servers share the sale (default 1); more than one
	// needs a store that several servers share (Postgres).
	Servers int
	// Clock, when set, is the fake clock every store and server reads.
	Clock *clocktest.Clock
	// Sale is the stores' settings (hold TTL, key TTL, max keys). Its Clock
	// is Clock, unless set: a clock that wraps Clock, to watch the store
	// read it.
	Sale sale.Config
	// API is the HTTP layer's settings (rate limit, stream limits, logger);
	// Store and Clock are filled in, and AdminToken when empty.
	API httpapi.Config
	// Wrap, when set, wraps each server's store, to make it fail or slow.
	Wrap func(sale.Store) sale.Store
	// Path is the SQLite file (default a new one in a folder of the test's).
	Path string
	// DSN is the PostgreSQL database, with search_path naming the schema
	// (default a schema of the test's own, dropped when it ends; without
	// FLASHSALE_TEST_POSTGRES_DSN the test is skipped, saying so).
	DSN string
	// Webhooks, when it names endpoints, is what each server delivers
	// the sale's events with (webhooks.go); the stores keep their cursors.
	Webhooks webhook.Config
}

// Stack is one sale, served by one or more servers.
type Stack struct {
	Servers []*Server
	// Clock is the fake clock, or nil on the real one.
	Clock *clocktest.Clock
	// Jar keeps every shopper's token for the servers' Client and HTTP.
	Jar *Jar
	// AdminToken is the token POST /initialize takes.
	AdminToken string
}

// Server is one server of a stack.
type Server struct {
	URL   string
	Store sale.Store // what the API serves (wrapped, given Options.Wrap)
	API   *httpapi.API
	// Webhooks delivers the sale's events, when Options.Webhooks names
	// endpoints.
	Webhooks *webhook.Deliverer
	srv      *httptest.Server
	// Client is the generated typed client, and HTTP the raw one under it;
	// every answer either gets is checked against api/openapi.yaml (an
	// answer the document does not allow fails the test).
	Client *generated.ClientWithResponses
	HTTP   *http.Client
	// Bare and BareHTTP are the same clients with no Jar: a stranger's,
	// who sends only the tokens the test gives them.
	Bare     *generated.ClientWithResponses
	BareHTTP *http.Client
}

// Start starts the stack opts describe; everything stops when t ends.
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	if opts.Store == "" {
		opts.Store = Memory
	}
	if opts.Servers == 0 {
		opts.Servers = 1
	}
	if opts.Servers > 1 && opts.Store != Postgres {
		t.Fatalf("testkit: %d servers on a %s store: only %s is shared by several servers", opts.Servers, opts.Store, Postgres)
	}
	if opts.API.AdminToken == "" {
		opts.API.AdminToken = AdminToken
	}
	cfg := opts.Sale
	if cfg.Clock == nil && opts.Clock != nil {
		cfg.Clock = opts.Clock
	}
	if len(opts.Webhooks.Endpoints) > 0 {
		cfg.Outbox.Endpoints = opts.Webhooks.Endpoints
		cfg.Outbox.MaxAge = opts.Webhooks.MaxAge
	}
	s := &Stack{Clock: opts.Clock, AdminToken: opts.API.AdminToken}
	var first sale.Store // unwrapped: the jar's lookups must not fail as a test makes the store fail
	s.Jar = NewJar(func(ctx context.Context, id string) (string, bool) {
		r, err := first.Reservation(ctx, id)
		return r.UserID, err == nil
	})
	for range opts.Servers {
		st := OpenStore(t, &opts, cfg)
		if first == nil {
			first = st
		}
		hooks := startWebhooks(t, st, opts, cfg, len(s.Servers))
		if opts.Wrap != nil {
			st = opts.Wrap(st)
		}
		srv := serve(t, st, opts, s.Jar, hooks)
		s.Servers = append(s.Servers, srv)
	}
	return s
}

// OpenStore opens a store of opts.Store with cfg, closed when t ends. For a
// file or a database the first call makes, it records the one made in opts,
// so that the next call opens the same sale (another server, or the same
// one after a restart).
func OpenStore(t testing.TB, opts *Options, cfg sale.Config) sale.Store {
	t.Helper()
	var st sale.Store
	var err error
	switch opts.Store {
	case Memory, "":
		st, err = memory.New(cfg)
	case SQLite:
		if opts.Path == "" {
			opts.Path = filepath.Join(t.TempDir(), "sale.db")
		}
		st, err = sqlite.Open(t.Context(), opts.Path, cfg)
	case Postgres:
		if opts.DSN == "" {
			opts.DSN = pgtest.Schema(t)
		}
		st, err = postgres.Open(t.Context(), opts.DSN, cfg)
	default:
		t.Fatalf("testkit: no store %q", opts.Store)
	}
	if err != nil {
		t.Fatalf("testkit: open the %s store: %v", opts.Store, err)
	}
	t.Cleanup(func() { _ = st.Close() }) // a test that closed it first has checked Close itself
	return st
}

// serve puts the HTTP API over st on a loopback port of its own.
func serve(t testing.TB, st sale.Store, opts Options, jar *Jar, hooks *webhook.Deliverer) *Server {
	t.Helper()
	cfg := opts.API
	cfg.Store = st
	cfg.Webhooks = hooks
	// One clock for the store and the HTTP layer: tokens are dated by the
	// store's answers and checked by the server's time.
	switch {
	case opts.Clock != nil:
		cfg.Clock = opts.Clock
	case opts.Sale.Clock != nil:
		cfg.Clock = opts.Sale.Clock
	}
	api, err := httpapi.New(cfg)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	srv := httptest.NewServer(api)
	// Streams end first, so that closing the server does not wait for them.
	t.Cleanup(srv.Close)
	t.Cleanup(api.Close)
	hc := checkedClient(t, jar)
	client, err := generated.NewClientWithResponses(srv.URL, generated.WithHTTPClient(hc))
	if err != nil {
		t.Fatalf("testkit: client: %v", err)
	}
	bare := checkedClient(t, nil)
	bareClient, err := generated.NewClientWithResponses(srv.URL, generated.WithHTTPClient(bare))
	if err != nil {
		t.Fatalf("testkit: client: %v", err)
	}
	return &Server{URL: srv.URL, Store: st, API: api, Webhooks: hooks, srv: srv, Client: client, HTTP: hc, Bare: bareClient, BareHTTP: bare}
}

// Close stops the server and closes its store before the test ends, for a
// test that starts many in turn and should hold one's resources (a
// database's connections) at a time. It returns the store's Close error.
func (s *Server) Close() error {
	if s.Webhooks != nil {
		s.Webhooks.Close()
	}
	s.API.Close()
	s.srv.Close()
	return s.Store.Close()
}

// Server is the stack's first server: the only one, when there is one.
func (s *Stack) Server() *Server { return s.Servers[0] }

// Next returns the servers in turn, from the first: a crowd's requests
// spread over them as a load balancer would.
func (s *Stack) Next(i int) *Server { return s.Servers[i%len(s.Servers)] }

// Variant is one kind of stack Each runs a test over.
type Variant struct {
	Name    string
	Store   StoreKind
	Servers int
}

// Variants are the stacks Each runs over: every store, and two servers
// sharing one database.
var Variants = []Variant{
	{"memory", Memory, 1},
	{"sqlite", SQLite, 1},
	{"postgres", Postgres, 1},
	{"postgres, two servers", Postgres, 2},
}

// Each runs test once over every variant, each a subtest with a stack of
// its own that opts describe but for the store and the servers. The
// PostgreSQL variants skip, saying so, without FLASHSALE_TEST_POSTGRES_DSN.
func Each(t *testing.T, opts Options, test func(t *testing.T, s *Stack)) {
	t.Helper()
	for _, v := range Variants {
		t.Run(v.Name, func(t *testing.T) {
			o := opts
			o.Store, o.Servers = v.Store, v.Servers
			if o.Clock != nil {
				o.Clock = clocktest.New(opts.Clock.Now()) // each its own: one test's moves are not another's
			}
			test(t, Start(t, o))
		})
	}
}
