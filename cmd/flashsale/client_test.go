package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// newClient is a typed client of t's shoppers (shopperClient), each with
// their own token, that keeps a connection per worker alive, so that the
// load spends its time on requests, not on connecting.
func newClient(t *testing.T, url string) *generated.ClientWithResponses {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: crashWorkers}
	t.Cleanup(tr.CloseIdleConnections)
	return typedClient(t, url, shopperClient(t, 10*time.Second, tr))
}

// newBareClient is a typed client that sends no token of its own: a device
// that never had the answer a token came in.
func newBareClient(t *testing.T, url string) *generated.ClientWithResponses {
	t.Helper()
	return typedClient(t, url, &http.Client{Timeout: 10 * time.Second})
}

func typedClient(t *testing.T, url string, hc *http.Client) *generated.ClientWithResponses {
	t.Helper()
	c, err := generated.NewClientWithResponses(url, generated.WithHTTPClient(hc))
	if err != nil {
		t.Fatalf("client for %s: %v", url, err)
	}
	return c
}

func mustReserve(t *testing.T, c *generated.ClientWithResponses, u string) *generated.ReserveResponse {
	t.Helper()
	r, err := c.ReserveWithResponse(context.Background(), nil, generated.ReserveRequest{UserId: &u})
	if err != nil {
		t.Fatalf("reserve %s: %v", u, err)
	}
	return r
}

// mustUser reads where u stands: a generated.UserNone, UserWaiting,
// UserHeld or UserConfirmed, as the answer's state says.
func mustUser(t *testing.T, c *generated.ClientWithResponses, u string, edit ...generated.RequestEditorFn) any {
	t.Helper()
	r, err := c.GetUserWithResponse(context.Background(), u, edit...)
	if err != nil {
		t.Fatalf("read user %s: %v", u, err)
	}
	if r.JSON200 == nil {
		t.Fatalf("read user %s: %d %s", u, r.StatusCode(), r.Body)
	}
	v, err := r.JSON200.ValueByDiscriminator()
	if err != nil {
		t.Fatalf("read user %s: %v: %s", u, err, r.Body)
	}
	return v
}

func mustReservation(t *testing.T, c *generated.ClientWithResponses, id string, edit ...generated.RequestEditorFn) generated.Reservation {
	t.Helper()
	r, ok := readReservation(t, c, id, edit...)
	if !ok {
		t.Fatalf("reservation %s is not found", id)
	}
	return r
}

// readReservation reads a reservation, reporting a 404 as not found (for
// another shopper's too, which the server tells from none).
func readReservation(t *testing.T, c *generated.ClientWithResponses, id string, edit ...generated.RequestEditorFn) (generated.Reservation, bool) {
	t.Helper()
	r, err := c.GetReservationWithResponse(context.Background(), id, edit...)
	switch {
	case err != nil:
		t.Fatalf("read reservation %s: %v", id, err)
	case r.StatusCode() == http.StatusNotFound:
		return generated.Reservation{}, false
	case r.JSON200 == nil:
		t.Fatalf("read reservation %s: %d %s", id, r.StatusCode(), r.Body)
	}
	return *r.JSON200, true
}

func mustStatus(t *testing.T, c *generated.ClientWithResponses) generated.Status {
	t.Helper()
	r, err := c.GetStatusWithResponse(context.Background())
	if err != nil {
		t.Fatalf("read status: %v", err)
	}
	if r.JSON200 == nil {
		t.Fatalf("read status: %d %s", r.StatusCode(), r.Body)
	}
	return *r.JSON200
}
