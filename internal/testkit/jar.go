package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Jar keeps the shopper token of each user as that shopper's own device
// would (the page keeps it in the browser's storage): the token a user's
// first reserve answered is sent with every later request about that user.
// A stack's clients share one, so a test reads as a crowd of shoppers each
// on their own device, with no token handling of its own. Requests that set
// Authorization themselves are sent as they are: that is how a test acts as
// someone else (the admin, mallory).
type Jar struct {
	mu     sync.Mutex
	tokens map[string]string // by user
	owners map[string]string // reservation id → user
	// owner finds a reservation's user when no answer this jar saw named
	// it (a hold a stream announced, say); nil for none.
	owner func(ctx context.Context, id string) (string, bool)
}

// NewJar returns an empty jar; owner, when not nil, finds the user of a
// reservation the jar has not seen.
func NewJar(owner func(ctx context.Context, id string) (string, bool)) *Jar {
	return &Jar{tokens: map[string]string{}, owners: map[string]string{}, owner: owner}
}

// Token is user's token, or "" when the jar has none.
func (j *Jar) Token(user string) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.tokens[user]
}

// Set keeps token as user's.
func (j *Jar) Set(user, token string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.tokens[user] = token
}

// Forget drops user's token: the shopper on another device.
func (j *Jar) Forget(user string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.tokens, user)
}

// Transport sends requests through next with their users' tokens.
func (j *Jar) Transport(next http.RoundTripper) http.RoundTripper {
	return &jarTransport{jar: j, next: next}
}

type jarTransport struct {
	jar  *Jar
	next http.RoundTripper
}

func (t *jarTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") == "" {
		if user := t.jar.userOf(req); user != "" {
			if tok := t.jar.Token(user); tok != "" {
				req = req.Clone(req.Context())
				req.Header.Set("Authorization", "Bearer "+tok)
			}
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost || req.URL.Path != "/reserve" ||
		(resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusConflict) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var a struct {
		User          string `json:"user_id"`
		Token         string `json:"shopper_token"`
		ReservationID string `json:"reservation_id"`
	}
	if json.Unmarshal(body, &a) == nil && a.User != "" {
		t.jar.mu.Lock()
		if a.Token != "" {
			t.jar.tokens[a.User] = a.Token
		}
		if a.ReservationID != "" {
			t.jar.owners[a.ReservationID] = a.User
		}
		t.jar.mu.Unlock()
	}
	return resp, nil
}

// userOf is the user a request is about, if the jar can tell.
func (j *Jar) userOf(req *http.Request) string {
	segs := strings.Split(strings.TrimPrefix(req.URL.EscapedPath(), "/"), "/")
	if len(segs) < 2 {
		if req.Method == http.MethodPost && req.URL.Path == "/reserve" {
			return reserveUser(req)
		}
		return ""
	}
	id, err := url.PathUnescape(segs[1])
	if err != nil {
		return ""
	}
	switch segs[0] {
	case "users", "waitlist":
		return id
	case "reservations":
		j.mu.Lock()
		user, ok := j.owners[id]
		j.mu.Unlock()
		if !ok && j.owner != nil {
			user, _ = j.owner(req.Context(), id)
		}
		return user
	}
	return ""
}

// reserveUser reads the user_id of a reserve's body, leaving the body to be
// sent.
func reserveUser(req *http.Request) string {
	if req.GetBody == nil {
		return ""
	}
	body, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer body.Close()
	var b struct {
		User string `json:"user_id"`
	}
	if json.NewDecoder(body).Decode(&b) != nil {
		return ""
	}
	return b.User
}
