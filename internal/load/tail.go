package load

import (
	"strings"
	"sync"
)

// tail keeps the last max bytes written to it: a child's output, quoted
// when it fails.
type tail struct {
	mu    sync.Mutex
	max   int
	label string // what the quote is introduced as: "flashsale said"
	b     []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

// suffix is the last line written, ready to append to an error message.
func (t *tail) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return ""
	}
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "; " + t.label + ": " + s
}

// String is everything kept.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
