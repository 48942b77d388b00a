package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// newClient is a typed client that keeps a connection per worker alive, so
// that the load spends its time on requests, not on connecting.
func newClient(t *testing.T, url string) *generated.ClientWithResponses {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: crashWorkers}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := generated.NewClientWithResponses(url, generated.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatalf("client for %s: %v", url, err)
	}
	return c
}

func mustReserve(t *testing.T, c *generated.ClientWithResponses, u string) *generated.ReserveResponse {
	t.Helper()
	r, err := c.ReserveWithResponse(context.Background(), nil, generated.ReserveRequest{UserId: u})
	if err != nil {
		t.Fatalf("reserve %s: %v", u, err)
	}
	return r
}

// mustUser reads where u stands: a generated.UserNone, UserWaiting,
// UserHeld or UserConfirmed, as the answer's state says.
func mustUser(t *testing.T, c *generated.ClientWithResponses, u string) any {
	t.Helper()
	r, err := c.GetUserWithResponse(context.Background(), u)
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

func mustReservation(t *testing.T, c *generated.ClientWithResponses, id string) generated.Reservation {
	t.Helper()
	r, ok := readReservation(t, c, id)
	if !ok {
		t.Fatalf("reservation %s is not found", id)
	}
	return r
}

// readReservation reads a reservation, reporting a 404 as not found.
func readReservation(t *testing.T, c *generated.ClientWithResponses, id string) (generated.Reservation, bool) {
	t.Helper()
	r, err := c.GetReservationWithResponse(context.Background(), id)
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
