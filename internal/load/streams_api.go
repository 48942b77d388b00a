package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// streamsAPI is the few calls the streams bench makes besides the streams,
// over plain net/http with the generated models: the generated client
// would do, but these are three small JSON bodies and the bench needs the
// raw status codes anyway.
//
// It keeps each user's shopper token, from the reserve that made them known
// to the sale, as each shopper's own device would: a hold is cancelled, and
// a stream opened, with its user's token.
type streamsAPI struct {
	base string
	hc   *http.Client

	mu     sync.Mutex
	tokens map[string]string // by user
}

func newStreamsAPI(base string, conns int) *streamsAPI {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns, conns
	return &streamsAPI{base: base, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}, tokens: make(map[string]string)}
}

func (a *streamsAPI) close() { a.hc.CloseIdleConnections() }

// token is user's shopper token, "" if the sale gave none.
func (a *streamsAPI) token(user string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tokens[user]
}

// keep keeps the token a new user's answer carried, which every later call
// for them needs.
func (a *streamsAPI) keep(user string, token *string) error {
	if token == nil || *token == "" {
		return fmt.Errorf("user %s: the answer to their first reserve carries no shopper_token", user)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[user] = *token
	return nil
}

// call sends body (JSON, or none when nil), as user's when user is not ""
// (with their token), and decodes a JSON answer with status want into v;
// any other status is an error quoting the answer.
func (a *streamsAPI) call(ctx context.Context, method, path, user string, body any, want int, v any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+a.token(user))
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s, want %d: %s", method, path, resp.Status, want, bytes.TrimSpace(b))
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

func (a *streamsAPI) hold(ctx context.Context, user string) (string, error) {
	var h generated.Hold
	if err := a.call(ctx, http.MethodPost, "/reserve", "", generated.ReserveRequest{UserId: &user}, http.StatusCreated, &h); err != nil {
		return "", fmt.Errorf("user %s: %w", user, err)
	}
	if h.ReservationId == "" {
		return "", fmt.Errorf("user %s: a hold without a reservation_id", user)
	}
	return h.ReservationId, a.keep(user, h.ShopperToken)
}

func (a *streamsAPI) wait(ctx context.Context, user string) (int64, error) {
	var w generated.Waitlisted
	if err := a.call(ctx, http.MethodPost, "/reserve", "", generated.ReserveRequest{UserId: &user}, http.StatusAccepted, &w); err != nil {
		return 0, fmt.Errorf("user %s: %w", user, err)
	}
	return w.WaitlistPosition, a.keep(user, w.ShopperToken)
}

// cancel cancels user's hold reservationID, as user.
func (a *streamsAPI) cancel(ctx context.Context, user, reservationID string) error {
	return a.call(ctx, http.MethodPost, "/reservations/"+url.PathEscape(reservationID)+"/cancel", user, nil, http.StatusOK, nil)
}

func (a *streamsAPI) status(ctx context.Context) (generated.Status, error) {
	var st generated.Status
	err := a.call(ctx, http.MethodGet, "/status", "", nil, http.StatusOK, &st)
	return st, err
}

// streamUser is the id of the i-th waiting user (from 0).
func streamUser(i int) string { return "s" + strconv.Itoa(i+1) }

// holderUser holds the one unit before the line forms.
const holderUser = "h0"

// formLine has the holder take the one unit, then n users join the line,
// workers at a time. Joining concurrently means the positions follow the
// order of arrival, not the user numbers: positions[i] is where
// streamUser(i) stood, and together they must be exactly 1..n.
func formLine(ctx context.Context, a *streamsAPI, n, workers int) (holdID string, positions []int64, err error) {
	if holdID, err = a.hold(ctx, holderUser); err != nil {
		return "", nil, err
	}
	positions = make([]int64, n)
	if err := forEach(ctx, n, workers, func(ctx context.Context, i int) error {
		p, err := a.wait(ctx, streamUser(i))
		positions[i] = p
		return err
	}); err != nil {
		return "", nil, err
	}
	taken := make([]bool, n+1)
	for i, p := range positions {
		if p < 1 || p > int64(n) || taken[p] {
			return "", nil, fmt.Errorf("user %s joined at position %d: the %d positions should be 1..%d, each once", streamUser(i), p, n, n)
		}
		taken[p] = true
	}
	st, err := a.status(ctx)
	if err != nil {
		return "", nil, err
	}
	if st.Held != 1 || st.Available != 0 || st.WaitlistSize != int64(n) {
		return "", nil, fmt.Errorf("after the line formed /status has held %d, available %d, waitlist_size %d; want 1, 0 and %d", st.Held, st.Available, st.WaitlistSize, n)
	}
	return holdID, positions, nil
}

// forEach runs fn for 0..n-1 on workers goroutines and returns the first
// error, after which the rest are not started.
func forEach(ctx context.Context, n, workers int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
