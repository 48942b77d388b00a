//go:build !linux

package live

import "errors"

// hangups needs epoll; elsewhere a client that left is found by the next
// write or heartbeat.
type hangups struct{}

func newHangups() (*hangups, error) { return nil, errors.New("live: no epoll here") }

func (*hangups) watch(*conn)   {}
func (*hangups) unwatch(*conn) {}
func (*hangups) close()        {}
