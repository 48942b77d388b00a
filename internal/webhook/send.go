package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// send delivers e to the endpoint, trying until it is answered with a 2xx
// or it is MaxAge old (then it is dead-lettered and counted in p), and
// returns an error only when ctx ends first.
func (ep *endpoint) send(ctx context.Context, e sale.Event, p *progress) error {
	cfg := ep.d.cfg
	body, ok, err := cfg.Encode(e, ep.replica)
	if err != nil {
		// A bug: no body can be made for the event, now or later.
		ep.dead.Add(1)
		p.dead++
		ep.log.Error("webhook: cannot encode an event; dead-lettered", "webhook_id", ep.d.messageID(e.Seq), "err", err)
		return p.record(ctx, e.Seq, fmt.Errorf("encode event %d: %w", e.Seq, err))
	}
	if !ok {
		return nil
	}
	id := ep.d.messageID(e.Seq)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			ep.retries.Add(1)
		}
		err := ep.post(ctx, id, body)
		if err == nil {
			ep.delivered.Add(1)
			if ep.failing {
				ep.log.Info("webhook: the endpoint answers again", "webhook_id", id, "attempts", attempt+1)
			}
			ep.failing = false
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ep.failed.Add(1)
		if !ep.failing {
			ep.log.Warn("webhook: delivery failed; retrying with backoff", "webhook_id", id, "err", err)
		}
		ep.failing = true
		now := cfg.Clock.Now()
		deadline := e.At.Add(cfg.MaxAge)
		if !now.Before(deadline) {
			ep.dead.Add(1)
			p.dead++
			ep.log.Error("webhook: dead-lettered an event: it was not delivered within the max age",
				"webhook_id", id, "type", e.Kind, "attempts", attempt+1, "max_age", cfg.MaxAge.String(), "err", err)
			return p.record(ctx, e.Seq, err)
		}
		if now.Sub(ep.failureSaved) >= failureRecordInterval {
			// The cursor stays; the endpoint's state shows why.
			if err := p.record(ctx, ep.cursor.Load(), err); err != nil {
				return err
			}
			ep.failureSaved = now
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-cfg.Clock.After(min(backoff(cfg.MinBackoff, cfg.MaxBackoff, attempt), deadline.Sub(now))):
		}
	}
}

// backoff is the pause after the attempt-th failure (0 is the first):
// min·2^attempt, capped at max, of which a random half ("equal jitter"), so
// that senders spread out but none retries at once.
func backoff(least, most time.Duration, attempt int) time.Duration {
	d := most
	if attempt < 32 && least<<attempt > 0 && least<<attempt < most {
		d = least << attempt
	}
	half := d / 2
	return half + rand.N(half+1)
}

// post makes one attempt: the call, signed now, and its answer.
func (ep *endpoint) post(ctx context.Context, id string, body []byte) error {
	cfg := ep.d.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("make the request: %w", err)
	}
	unix := cfg.Clock.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "flashsale-webhooks")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(unix, 10))
	req.Header.Set("webhook-signature", signature(*ep.d.keys.Load(), id, unix, body))
	resp, err := cfg.Client.Do(req)
	if err != nil {
		// The error names the URL, which may hold a secret: say what
		// failed without it.
		return fmt.Errorf("POST %s: %w", ep.label, unwrapURLError(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			return fmt.Errorf("POST %s: answered %s (redirects are not followed)", ep.label, resp.Status)
		}
		return fmt.Errorf("POST %s: answered %s", ep.label, resp.Status)
	}
	return nil
}

func unwrapURLError(err error) error {
	if u, ok := err.(interface{ Unwrap() error }); ok {
		if inner := u.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
