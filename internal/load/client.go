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
	"time"

	"github.com/flashsale/flashsale/generated"
)

// client speaks the few requests a run needs. It shares one transport among
// all workers and builds each request by hand: the generator shares the CPU
// with the server it measures, so every microsecond it spends is one the
// server does not get.
type client struct {
	hc      *http.Client
	base    *url.URL
	reserve *url.URL
	token   string
}

var jsonType = []string{"application/json"}

func newClient(rawURL, token string, conns int) (*client, error) {
	base, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse server URL: %w", err)
	}
	if base.Scheme != "http" || base.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://host:port", rawURL)
	}
	if base.Path == "" {
		base.Path = "/" // else JoinPath yields a relative path
	}
	tr := &http.Transport{
		// One idle connection per worker, so that every request reuses a
		// keep-alive connection instead of dialling.
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &client{
		hc:      &http.Client{Transport: tr},
		base:    base,
		reserve: base.JoinPath("/reserve"),
		token:   token,
	}, nil
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// urlPath is a request target and the headers that go with it, both built
// once and shared read-only: a RoundTripper must not modify its request.
type urlPath struct {
	url    *url.URL
	header http.Header
}

var postJSON = http.Header{"Content-Type": jsonType}

func (c *client) reservePath() urlPath { return urlPath{c.reserve, postJSON} }

func (c *client) path(elem ...string) urlPath { return urlPath{url: c.base.JoinPath(elem...)} }

// answer is one response, its body read into the worker's buffer.
type answer struct {
	status int
	body   []byte
}

// do sends one request and reads the whole body into buf, so that the
// connection goes back to the pool and the buffer is reused next time.
func (c *client) do(ctx context.Context, method string, u *url.URL, body []byte, header http.Header, buf *bytes.Buffer) (answer, error) {
	req := (&http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     header,
		Host:       u.Host,
	}).WithContext(ctx)
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return answer{}, fmt.Errorf("read %s %s answer: %w", method, u.Path, err)
	}
	return answer{status: resp.StatusCode, body: buf.Bytes()}, nil
}

// appendReserveBody hand-encodes {"user_id":"<user>"}; user ids are ours and
// need no escaping.
func appendReserveBody(b, user []byte) []byte {
	b = append(b, `{"user_id":"`...)
	b = append(b, user...)
	return append(b, `"}`...)
}

// userID names the n-th user of a run. The prefix keeps a warm-up's users
// apart from the measured run's.
func appendUserID(b []byte, prefix string, n int64) []byte {
	b = append(b, prefix...)
	return strconv.AppendInt(b, n, 10)
}

func (c *client) initialize(ctx context.Context, total int64) (generated.Status, error) {
	body := fmt.Appendf(nil, `{"total_inventory":%d,"reset":true}`, total)
	h := http.Header{"Content-Type": jsonType, "Authorization": {"Bearer " + c.token}}
	var st generated.Status
	if err := c.getJSON(ctx, http.MethodPost, "/initialize", body, h, &st); err != nil {
		return st, fmt.Errorf("initialize %d units: %w", total, err)
	}
	return st, nil
}

func (c *client) status(ctx context.Context) (generated.Status, error) {
	var st generated.Status
	if err := c.getJSON(ctx, http.MethodGet, "/status", nil, nil, &st); err != nil {
		return st, fmt.Errorf("read status: %w", err)
	}
	return st, nil
}

// webhooks reads GET /webhooks, an admin's request.
func (c *client) webhooks(ctx context.Context) (generated.WebhookEndpoints, error) {
	h := http.Header{"Authorization": {"Bearer " + c.token}}
	var ws generated.WebhookEndpoints
	if err := c.getJSON(ctx, http.MethodGet, "/webhooks", nil, h, &ws); err != nil {
		return ws, fmt.Errorf("read webhooks: %w", err)
	}
	return ws, nil
}

func (c *client) health(ctx context.Context) error {
	var h generated.Health
	return c.getJSON(ctx, http.MethodGet, "/healthz", nil, nil, &h)
}

// getJSON sends one request that must answer 200 with a JSON body.
func (c *client) getJSON(ctx context.Context, method, path string, body []byte, h http.Header, v any) error {
	var buf bytes.Buffer
	a, err := c.do(ctx, method, c.base.JoinPath(path), body, h, &buf)
	if err != nil {
		return err
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("%s %s answered %d: %.200s", method, path, a.status, a.body)
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("decode %s %s answer: %w", method, path, err)
	}
	return nil
}

// freshSale starts a new sale of total units (reset: true) and checks that
// it starts empty.
func freshSale(ctx context.Context, cl *client, total int64) error {
	st, err := cl.initialize(ctx, total)
	if err != nil {
		return err
	}
	if st.TotalInventory != total || st.Available != total || st.Held+st.Confirmed+st.WaitlistSize != 0 {
		return fmt.Errorf("initialize %d units: a fresh sale should be all available, got %+v", total, st)
	}
	return nil
}
