package sale

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// The feed is also the outbox of everything sent outside the service: a
// webhook endpoint is a consumer of the committed feed whose place in it,
// its cursor (the Seq of the last event it acknowledged), is kept in the
// store, so that delivery resumes from there after a restart, a crash, or
// on another server. Nothing is written on the sale's path for it: an event
// is in the outbox the moment it is committed.

// OutboxConfig says which endpoints a store keeps cursors for.
type OutboxConfig struct {
	// Endpoints are the URLs events are delivered to. An endpoint the
	// store has not seen before starts after the newest event: it hears of
	// what happens from then on.
	Endpoints []string
	// MaxAge is how long an event is tried before it is dead-lettered; an
	// endpoint no server has leased for that long no longer holds back the
	// pruning of events before a reset (what it missed would be dead
	// letters by then). Zero means DefaultWebhookMaxAge.
	MaxAge time.Duration
}

// DefaultWebhookMaxAge is how long an event is retried by default: a day,
// long enough for a shop's operator to notice and fix a receiver.
const DefaultWebhookMaxAge = 24 * time.Hour

// MaxEndpoints bounds the webhook endpoints of one server: each is a
// delivery loop and a copy of the sale's state in memory.
const MaxEndpoints = 8

// WithDefaults returns c with MaxAge set, or an error naming what cannot be
// used.
func (c OutboxConfig) WithDefaults() (OutboxConfig, error) {
	if c.MaxAge == 0 {
		c.MaxAge = DefaultWebhookMaxAge
	}
	if c.MaxAge < time.Second {
		return c, fmt.Errorf("webhook max age %v must be at least a second", c.MaxAge)
	}
	if len(c.Endpoints) > MaxEndpoints {
		return c, fmt.Errorf("%d webhook endpoints: at most %d", len(c.Endpoints), MaxEndpoints)
	}
	seen := make(map[string]bool, len(c.Endpoints))
	for _, e := range c.Endpoints {
		if err := CheckEndpoint(e); err != nil {
			return c, err
		}
		if seen[e] {
			return c, fmt.Errorf("webhook endpoint %s is given twice", e)
		}
		seen[e] = true
	}
	return c, nil
}

// CheckEndpoint says whether u can be a webhook endpoint: an absolute http
// or https URL with a host and no fragment.
func CheckEndpoint(u string) error {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Errorf("webhook endpoint %q: %w", u, err)
	case p.Scheme != "http" && p.Scheme != "https":
		return fmt.Errorf("webhook endpoint %q must be an http:// or https:// URL", u)
	case p.Host == "":
		return fmt.Errorf("webhook endpoint %q has no host", u)
	case p.Fragment != "":
		return fmt.Errorf("webhook endpoint %q has a fragment, which is never sent", u)
	}
	return nil
}

// Endpoint is what the store keeps of one webhook endpoint.
type Endpoint struct {
	URL string
	// Cursor is the Seq of the last event the endpoint acknowledged (or
	// that was dead-lettered): delivery resumes after it.
	Cursor uint64
	// Holder is the server that delivers to it (the last to lease it),
	// and LeaseUntil when its lease ends unless renewed.
	Holder     string
	LeaseUntil time.Time
	// DeadLetters counts the events given up on after MaxAge.
	DeadLetters uint64
	// LastError is the last failed delivery's reason, at LastErrorAt;
	// empty once a delivery succeeds after it.
	LastError   string
	LastErrorAt time.Time
}

// Lease is a server's right to deliver to one endpoint until Until: while
// it holds, no other server delivers there, so events arrive in order.
type Lease struct {
	Held   bool
	Cursor uint64    // where delivery resumes (when Held)
	Holder string    // who holds it now
	Until  time.Time // when it ends unless renewed, by the store's clock
}

// Ack is what a delivering server records of its progress.
type Ack struct {
	URL, Holder string
	// Cursor is the last event delivered or dead-lettered; the kept cursor
	// never moves back.
	Cursor uint64
	// Dead is how many events were dead-lettered since the last Ack.
	Dead uint64
	// Failure, when set, is the last delivery's failure, at FailedAt; a
	// nil Failure with Cursor past the kept one clears the last error.
	Failure  error
	FailedAt time.Time
}

// ErrLeaseLost: another server leased the endpoint; this one must stop
// delivering to it.
var ErrLeaseLost = errors.New("another server delivers to this webhook endpoint now")

// ErrNoOutbox: the store keeps no cursors (it was opened without
// endpoints, or its journal cannot keep them).
var ErrNoOutbox = errors.New("this store keeps no webhook cursors")

// Outbox is the store's side of webhook delivery.
type Outbox interface {
	// Pending returns up to limit kept events with Seq > after, oldest
	// first, and a channel closed once a newer event is committed. Unlike
	// Feed.Events it does not skip to the last reset: the events before
	// it are kept until every endpoint acknowledged them. After an
	// endpoint's cursor nothing is missing, unless no server leased the
	// endpoint for MaxAge (then the events up to a reset were pruned).
	// Before every cursor, a durable store keeps from the first event or
	// from the reset a replay of the slowest endpoint's sale starts at; the
	// memory store keeps nothing at or before the slowest cursor.
	Pending(ctx context.Context, after uint64, limit int) ([]Event, <-chan struct{}, error)
	// Lease gives holder the endpoint for ttl when nobody else holds it
	// (or holder does already), and says who holds it otherwise.
	Lease(ctx context.Context, endpoint, holder string, ttl time.Duration) (Lease, error)
	// Acknowledge records a holder's progress; ErrLeaseLost when another
	// holds the endpoint now.
	Acknowledge(ctx context.Context, a Ack) error
	// Endpoints reads every endpoint the store keeps.
	Endpoints(ctx context.Context) ([]Endpoint, error)
}

// ErrorText is what an Ack keeps of a failure: one line, bounded.
func ErrorText(err error) string {
	if err == nil {
		return ""
	}
	const most = 300
	s := err.Error()
	if len(s) > most {
		s = s[:most] + "…"
	}
	return s
}
