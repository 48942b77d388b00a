package testkit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is how a Receiver answers one call.
type Fault int

const (
	Accept   Fault = iota // 204
	Fail                  // 500
	Hang                  // no answer until the sender gives up (its timeout)
	Hangup                // the connection closed with no answer
	Redirect              // 307 to the receiver itself, which must not be followed
)

// Call is one webhook call a Receiver got.
type Call struct {
	ID        string
	Seq       uint64 // from the id: msg_<epoch>_<seq>
	Timestamp int64
	Type      string
	Body      []byte
	// Verified: the signature is v1 HMAC-SHA256 over id.timestamp.body
	// under one of the receiver's keys.
	Verified bool
	Fault    Fault
	At       time.Time
}

// Receiver is a shop's webhook endpoint for tests: it records every call,
// checks its signature, and answers each as fault says.
type Receiver struct {
	URL  string
	keys [][]byte

	mu     sync.Mutex
	calls  []Call
	fault  func(n int) Fault // n: the call's number, from 0
	hangUp chan struct{}
}

// NewReceiver starts a receiver checking signatures with keys; fault (nil:
// accept all) says how to answer the n-th call. It stops when t ends.
func NewReceiver(t testing.TB, keys [][]byte, fault func(n int) Fault) *Receiver {
	t.Helper()
	r := &Receiver{keys: keys, fault: fault, hangUp: make(chan struct{})}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(r.hangUp) }) // before srv.Close: a hanging call ends
	r.URL = srv.URL + "/hooks"
	return r
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	c := Call{
		ID:   req.Header.Get("webhook-id"),
		Body: body,
		At:   time.Now(),
	}
	c.Timestamp, _ = strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64)
	if i := strings.LastIndexByte(c.ID, '_'); i >= 0 {
		c.Seq, _ = strconv.ParseUint(c.ID[i+1:], 10, 64)
	}
	var head struct{ Type string }
	_ = json.Unmarshal(body, &head)
	c.Type = head.Type
	c.Verified = r.verify(c.ID, req.Header.Get("webhook-timestamp"), body, req.Header.Get("webhook-signature"))
	r.mu.Lock()
	n := len(r.calls)
	if r.fault != nil {
		c.Fault = r.fault(n)
	}
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	switch c.Fault {
	case Accept:
		w.WriteHeader(http.StatusNoContent)
	case Fail:
		http.Error(w, "failing on purpose", http.StatusInternalServerError)
	case Hang:
		select {
		case <-req.Context().Done():
		case <-r.hangUp:
		}
	case Hangup:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	case Redirect:
		http.Redirect(w, req, r.URL, http.StatusTemporaryRedirect)
	}
}

func (r *Receiver) verify(id, ts string, body []byte, header string) bool {
	for _, sig := range strings.Fields(header) {
		b64, ok := strings.CutPrefix(sig, "v1,")
		if !ok {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		for _, key := range r.keys {
			mac := hmac.New(sha256.New, key)
			fmt.Fprintf(mac, "%s.%s.", id, ts)
			mac.Write(body)
			if hmac.Equal(mac.Sum(nil), got) {
				return true
			}
		}
	}
	return false
}

// Calls returns every call so far, in arrival order.
func (r *Receiver) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Accepted returns the calls answered with a 2xx, in arrival order.
func (r *Receiver) Accepted() []Call {
	var out []Call
	for _, c := range r.Calls() {
		if c.Fault == Accept {
			out = append(out, c)
		}
	}
	return out
}

// WaitAccepted waits until the event with seq was accepted, failing t after
// limit.
func (r *Receiver) WaitAccepted(t testing.TB, seq uint64, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		for _, c := range r.Accepted() {
			if c.Seq == seq {
				return
			}
		}
		if time.Now().After(deadline) {
			calls := r.Calls()
			last := "none"
			if len(calls) > 0 {
				last = calls[len(calls)-1].ID
			}
			t.Fatalf("webhook receiver: event %d not accepted within %v (%d calls, the last %s)", seq, limit, len(calls), last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// CheckDelivery holds the calls to at-least-once delivery in order of the
// events want (their Seqs, in feed order): every call is verified; the
// first acceptance of each event comes in want's order with none missing
// and nothing else; and an event is sent again only after a call that
// failed: never twice in a row of calls that all succeeded.
func CheckDelivery(t testing.TB, calls []Call, want []uint64) {
	t.Helper()
	wanted := make(map[uint64]bool, len(want))
	for _, s := range want {
		wanted[s] = true
	}
	var firsts []uint64
	accepted := map[uint64]bool{}
	failedSince := false // a call failed since the last first acceptance
	for i, c := range calls {
		if !c.Verified {
			t.Fatalf("call %d (%s): the signature does not verify", i, c.ID)
		}
		if !wanted[c.Seq] {
			t.Fatalf("call %d (%s, %s): not an event that should be sent", i, c.ID, c.Type)
		}
		if c.Fault != Accept {
			failedSince = true
			continue
		}
		if accepted[c.Seq] {
			if !failedSince {
				t.Fatalf("call %d: event %d accepted again with no failure before it", i, c.Seq)
			}
			continue
		}
		accepted[c.Seq] = true
		firsts = append(firsts, c.Seq)
	}
	if len(firsts) != len(want) {
		t.Fatalf("%d events accepted, want %d", len(firsts), len(want))
	}
	for i := range want {
		if firsts[i] != want[i] {
			t.Fatalf("the %d-th event accepted is %d, want %d (feed order)", i, firsts[i], want[i])
		}
	}
}
