package live

import (
	"fmt"
	"sync"
	"syscall"
)

// hangups tells the writers, at once, of clients that closed or reset
// their connection: nobody reads a served connection, so without this a
// client that left would hold its place until the next heartbeat. One
// goroutine waits in epoll for the peer's hang-up of every served socket,
// at no cost while nobody leaves, where net/http would keep a goroutine
// blocked in a read for each.
type hangups struct {
	epfd int
	wake [2]int // a pipe: a byte on it ends the goroutine
	done chan struct{}

	mu    sync.Mutex
	conns map[uint64]*conn // by token, not fd: an fd's number is reused once closed
	next  uint64
}

func newHangups() (*hangups, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	u := &hangups{epfd: epfd, done: make(chan struct{}), conns: make(map[uint64]*conn)}
	if err := syscall.Pipe2(u.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	setToken(&ev, 0) // no conn has token 0
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, u.wake[0], &ev); err != nil {
		u.closeFDs()
		return nil, fmt.Errorf("epoll_ctl the wake pipe: %w", err)
	}
	go u.run()
	return u, nil
}

func setToken(ev *syscall.EpollEvent, tok uint64) {
	ev.Fd, ev.Pad = int32(uint32(tok)), int32(uint32(tok>>32))
}

func token(ev *syscall.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// watch starts watching c. One-shot: one hang-up is all there is to hear,
// and a level-triggered one would be heard again on every wait.
func (u *hangups) watch(c *conn) {
	u.mu.Lock()
	u.next++
	tok := u.next
	u.conns[tok] = c
	u.mu.Unlock()
	c.token = tok
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | syscall.EPOLLONESHOT}
	setToken(&ev, tok)
	var err error
	if cerr := c.raw.Control(func(fd uintptr) {
		err = syscall.EpollCtl(u.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	}); cerr != nil || err != nil {
		u.forget(tok) // the heartbeat still finds a client that left
		c.token = 0
	}
}

// unwatch stops watching c; it must come before c's connection is closed,
// while its fd is still c's.
func (u *hangups) unwatch(c *conn) {
	if c.token == 0 {
		return
	}
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(u.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
	u.forget(c.token)
	c.token = 0
}

func (u *hangups) forget(tok uint64) {
	u.mu.Lock()
	delete(u.conns, tok)
	u.mu.Unlock()
}

// run waits in epoll_wait, which holds one thread while nobody leaves.
func (u *hangups) run() {
	defer close(u.done)
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(u.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return // the heartbeat still finds clients that left
		}
		for i := range events[:n] {
			tok := token(&events[i])
			if tok == 0 {
				return
			}
			u.mu.Lock()
			c := u.conns[tok]
			u.mu.Unlock()
			if c != nil {
				c.hungUp.Store(true)
				c.w.enqueue(c)
			}
		}
	}
}

// close ends the goroutine; every conn was unwatched before.
func (u *hangups) close() {
	_, _ = syscall.Write(u.wake[1], []byte{0})
	<-u.done
	u.closeFDs()
}

func (u *hangups) closeFDs() {
	syscall.Close(u.wake[0])
	syscall.Close(u.wake[1])
	syscall.Close(u.epfd)
}
