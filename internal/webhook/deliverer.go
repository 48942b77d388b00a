package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Defaults and limits, written once here.
const (
	// DefaultTimeout bounds one attempt: connecting, sending, and the
	// endpoint's answer.
	DefaultTimeout = 10 * time.Second
	// DefaultMinBackoff and DefaultMaxBackoff bound the pause between two
	// attempts at one event: it doubles from the first to the second, with
	// jitter, so that a receiver coming back is not met by every sender at
	// once.
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	// DefaultLeaseTTL is how long a server holds an endpoint without
	// renewing: if it dies, another takes over within this.
	DefaultLeaseTTL = 10 * time.Second
	// pageSize is how many events one read of the outbox returns: with the
	// copy of the sale, all the memory delivery holds.
	pageSize = 256
	// ackEvery and ackInterval bound what a crash sends again: progress is
	// recorded after this many events or this long, whichever comes first.
	ackEvery    = 256
	ackInterval = 100 * time.Millisecond
	// failureRecordInterval: a failing endpoint's last error is recorded
	// at most this often, so that a fast retry loop does not write each
	// failure to the database.
	failureRecordInterval = time.Second
	// maxAnswerBytes is how much of an answer is read (and dropped), so
	// that the connection can be used again.
	maxAnswerBytes = 64 << 10
)

// State is the sale as it stood right after an event: what a payload
// reports. *rules.Sale is one.
type State interface {
	User(userID string) sale.UserState
	Status() sale.Status
}

// Encoder writes the body of the call for e, the sale being s right after
// it; ok is false for an event that is not sent (the shop need not hear of
// it; its cursor moves on all the same).
type Encoder func(e sale.Event, s State) (body []byte, ok bool, err error)

// Config is what a Deliverer needs.
type Config struct {
	// Outbox is the store: its events and the endpoints' cursors.
	Outbox sale.Outbox
	// Endpoints are the URLs to deliver to: the store keeps a cursor for
	// each (sale.Config.Outbox).
	Endpoints []string
	// Keys sign every call (ParseSecrets); two during a rotation.
	Keys [][]byte
	// Encode writes each call's body.
	Encode Encoder
	// Epoch is unique to the sale's storage: with an event's Seq it makes
	// the event's webhook-id, the same on every server and every retry,
	// and different from any other sale's (EpochOf).
	Epoch string
	// MaxAge is how long an event is tried before it is dead-lettered;
	// zero means sale.DefaultWebhookMaxAge.
	MaxAge time.Duration
	// Clock tells the time: timestamps, ages, pauses. Nil is the system's.
	Clock sale.Clock
	// Client sends the calls; nil is one that follows no redirect.
	Client *http.Client
	// Timeout, MinBackoff, MaxBackoff, LeaseTTL: zero means the defaults.
	Timeout    time.Duration
	MinBackoff time.Duration
	MaxBackoff time.Duration
	LeaseTTL   time.Duration
	// Holder names this server to the others; empty means a random name.
	Holder string
	// Logger gets what an operator must know; nil discards.
	Logger *slog.Logger
}

// Deliverer delivers a sale's events to its endpoints, one loop each.
type Deliverer struct {
	cfg       Config
	keys      atomic.Pointer[[][]byte] // cfg.Keys, until SetKeys
	endpoints []*endpoint
	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Start checks cfg and starts a loop for each endpoint. Close stops them.
func Start(cfg Config) (*Deliverer, error) {
	if cfg.Outbox == nil || cfg.Encode == nil || cfg.Epoch == "" {
		return nil, errors.New("webhook: an outbox, an encoder and an epoch are required")
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("webhook: no signing secret")
	}
	var err error
	if cfg, err = withDefaults(cfg); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	d := &Deliverer{cfg: cfg, stop: stop}
	d.keys.Store(&cfg.Keys)
	for _, u := range cfg.Endpoints {
		ep := &endpoint{d: d, url: u, label: Label(u), log: cfg.Logger.With("endpoint", Label(u))}
		d.endpoints = append(d.endpoints, ep)
		d.wg.Go(func() { ep.run(ctx) })
	}
	return d, nil
}

func withDefaults(cfg Config) (Config, error) {
	if cfg.MaxAge == 0 {
		cfg.MaxAge = sale.DefaultWebhookMaxAge
	}
	if cfg.Clock == nil {
		cfg.Clock = sale.SystemClock{}
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			// A 3xx is an answer, and not a 2xx: a shop's endpoint that
			// moved says so in its configuration, not by redirecting
			// signed calls to wherever a Location points.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&cfg.Timeout, DefaultTimeout}, {&cfg.MinBackoff, DefaultMinBackoff}, {&cfg.MaxBackoff, DefaultMaxBackoff}, {&cfg.LeaseTTL, DefaultLeaseTTL}} {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < 0 {
			return cfg, fmt.Errorf("webhook: negative duration %v", *d.v)
		}
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		return cfg, fmt.Errorf("webhook: max backoff %v is below min backoff %v", cfg.MaxBackoff, cfg.MinBackoff)
	}
	if cfg.Holder == "" {
		cfg.Holder = randomHolder()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// SetKeys signs every call from now on with keys (a rotation: the new
// secret beside the old, then the new alone).
func (d *Deliverer) SetKeys(keys [][]byte) {
	if len(keys) > 0 {
		d.keys.Store(&keys)
	}
}

// Close stops delivering, recording each endpoint's progress first.
func (d *Deliverer) Close() {
	d.closeOnce.Do(func() {
		d.stop()
		d.wg.Wait()
	})
}

// Stats is what one endpoint's loop counted on this server.
type Stats struct {
	Endpoint   string // Label(URL)
	Leading    bool   // this server holds the endpoint's lease
	Cursor     uint64 // the last event this server delivered or dead-lettered
	Delivered  uint64 // attempts answered with a 2xx
	Failed     uint64 // attempts that failed
	Retries    uint64 // attempts after an event's first
	DeadLetter uint64 // events given up on (including events pruned before this server saw them)
}

// Stats returns each endpoint's counts, in the configuration's order.
func (d *Deliverer) Stats() []Stats {
	out := make([]Stats, len(d.endpoints))
	for i, ep := range d.endpoints {
		out[i] = Stats{
			Endpoint:   ep.label,
			Leading:    ep.leading.Load(),
			Cursor:     ep.cursor.Load(),
			Delivered:  ep.delivered.Load(),
			Failed:     ep.failed.Load(),
			Retries:    ep.retries.Load(),
			DeadLetter: ep.dead.Load(),
		}
	}
	return out
}

// Label is how logs and metrics name an endpoint: its URL without what may
// be a secret (user information, the query).
func Label(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	return u.String()
}

// EpochOf returns the sale's epoch kept in keyring under epochKeyID, or
// keeps a fresh one: every server of the sale, and every restart, gets the
// same. It is not a secret; the keyring is simply where a value first
// kept is never changed.
func EpochOf(ctx context.Context, keyring sale.Keyring) (string, error) {
	fresh := make([]byte, 8)
	if _, err := rand.Read(fresh); err != nil {
		return "", err
	}
	b, err := keyring.SigningKey(ctx, epochKeyID, fresh)
	if err != nil {
		return "", fmt.Errorf("webhook: the sale's epoch: %w", err)
	}
	return hex.EncodeToString(b), nil
}

const epochKeyID = "webhook-epoch"

// messageID is the webhook-id of the event with seq.
func (d *Deliverer) messageID(seq uint64) string {
	return fmt.Sprintf("msg_%s_%d", d.cfg.Epoch, seq)
}

func randomHolder() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "server-" + hex.EncodeToString(b)
}
