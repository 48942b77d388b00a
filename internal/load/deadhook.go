package load

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// deadHookName labels the run of the real server with a dead webhook
// endpoint (WrkConfig.DeadWebhook).
const deadHookName = "dead-hook"

// deadHook is the dead webhook endpoint of a comparison, and the secret
// file its server is started with: one for every round.
type deadHook struct {
	url        string
	secretFile string
	release    func() error
}

// newDeadHook holds a loopback port that refuses every connection for the
// comparison's time (holdDeadPort), checks that it does, and writes a
// fresh secret into dir.
func newDeadHook(ctx context.Context, dir string) (*deadHook, error) {
	port, release, err := holdDeadPort()
	if err != nil {
		return nil, err
	}
	if err := checkDeadPort(ctx, port); err != nil {
		_ = release()
		return nil, err
	}
	// Standard Webhooks secrets are 24 to 64 bytes; 32 is what shops
	// are given.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		_ = release()
		return nil, fmt.Errorf("dead webhook endpoint: make a secret: %w", err)
	}
	file := filepath.Join(dir, "webhook-secret")
	if err := os.WriteFile(file, []byte("whsec_"+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		_ = release()
		return nil, fmt.Errorf("dead webhook endpoint: write the secret file: %w", err)
	}
	return &deadHook{url: "http://127.0.0.1:" + strconv.Itoa(port) + "/hooks", secretFile: file, release: release}, nil
}

// checkDeadPort fails unless a connection to the loopback port is refused.
func checkDeadPort(ctx context.Context, port int) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	switch {
	case err == nil:
		conn.Close()
		return fmt.Errorf("dead webhook endpoint: %s accepted a connection: something listens there", addr)
	case !errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("dead webhook endpoint: connecting to %s: %w; want the connection refused", addr, err)
	}
	return nil
}

// args are the real server's flags that point it at the endpoint.
func (h *deadHook) args() []string {
	return []string{"--webhook-url", h.url, "--webhook-secret-file", h.secretFile}
}

// check reads GET /webhooks after a run: the server must keep a cursor for
// the endpoint, have tried it and failed (a last error), and have
// delivered nothing. It returns what the server said of the endpoint.
func (h *deadHook) check(ctx context.Context, cl *client) (generated.WebhookEndpoint, error) {
	ws, err := cl.webhooks(ctx)
	if err != nil {
		return generated.WebhookEndpoint{}, err
	}
	for _, ep := range ws.Endpoints {
		if ep.Url != h.url {
			continue
		}
		switch {
		case ep.LastError == nil:
			return ep, fmt.Errorf("GET /webhooks shows no failure for the dead endpoint %s: the server never tried it", h.url)
		case ep.Cursor != 0 || ep.DeadLetters != 0:
			return ep, fmt.Errorf("GET /webhooks shows the dead endpoint %s at cursor %d with %d dead letters: want nothing delivered", h.url, ep.Cursor, ep.DeadLetters)
		case ep.Lag <= 0:
			return ep, fmt.Errorf("GET /webhooks shows the dead endpoint %s with a lag of %d: want every event of the run pending", h.url, ep.Lag)
		}
		return ep, nil
	}
	return generated.WebhookEndpoint{}, fmt.Errorf("GET /webhooks does not list the dead endpoint %s: was the server started with --webhook-url?", h.url)
}
