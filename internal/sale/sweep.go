package sale

import (
	"context"
	"time"
)

// Sweep calls s.Expire every interval until ctx is done, so that a waiting
// user is promoted when a hold expires even if no request arrives to apply
// the expiry. Each tick's outcome goes to report (nil when it succeeded, so
// that a caller can tell when a failure ends); errors do not stop the
// sweep: the next tick tries again, and every request applies due expiries
// anyway.
func Sweep(ctx context.Context, s Store, interval time.Duration, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Expire(ctx); ctx.Err() == nil && report != nil {
				report(err)
			}
		}
	}
}
