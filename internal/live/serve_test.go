package live_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/live"
)

// served is a stream served by the hub's writers over loopback TCP: the
// server's side went to Serve, the client's side is here.
type served struct {
	t      *testing.T
	client net.Conn
	lines  chan string // the event names the client read, "" for a heartbeat
}

// padding makes each message big, so that a client that does not read
// fills the sockets' buffers within a few messages.
const padding = 8 << 10

func format(buf []byte, m live.Message) ([]byte, error) {
	buf = fmt.Appendf(buf, "%s %d ", m.Event, m.State.Position)
	buf = append(buf, bytes.Repeat([]byte{'.'}, padding)...)
	return append(buf, '\n'), nil
}

// serve opens user's stream and hands it to the writers; the client reads
// it unless reading is false.
func (f *fixture) serve(user string, reading bool) *served {
	f.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { client.Close() })
	conn, err := ln.Accept()
	if err != nil {
		f.t.Fatal(err)
	}
	if reading {
		_ = client.(*net.TCPConn).SetReadBuffer(1 << 20)
	} else {
		_ = client.(*net.TCPConn).SetReadBuffer(4 << 10)
		_ = conn.(*net.TCPConn).SetWriteBuffer(4 << 10)
	}
	s, err := f.hub.Open(user)
	if err != nil {
		f.t.Fatal(err)
	}
	sv := &served{t: f.t, client: client, lines: make(chan string, 1024)}
	if err := f.hub.Serve(s, live.Served{Conn: conn, Format: format, WriteTimeout: 10 * time.Second}); err != nil {
		f.t.Fatal(err)
	}
	if reading {
		go sv.read()
	}
	return sv
}

func (sv *served) read() {
	defer close(sv.lines)
	r := bufio.NewReader(sv.client)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		name, _, _ := strings.Cut(line, " ")
		sv.lines <- name
	}
}

func (sv *served) expect(event string) {
	sv.t.Helper()
	select {
	case got, ok := <-sv.lines:
		if !ok {
			sv.t.Fatalf("the stream ended; want %q", event)
		}
		if got != event {
			sv.t.Fatalf("got %q, want %q", got, event)
		}
	case <-time.After(5 * time.Second):
		sv.t.Fatalf("no %q in 5s", event)
	}
}

func (f *fixture) openStreams(want int) {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.hub.Stats().Open != want {
		if time.Now().After(deadline) {
			f.t.Fatalf("%d streams open, want %d", f.hub.Stats().Open, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// A served stream goes as a pulled one does: the state, then each change.
func TestServedStateThenChanges(t *testing.T) {
	f := newFixture(t, live.Config{})
	holds := f.sale(1, "alice", "bob", "carol")
	bob, carol := f.serve("bob", true), f.serve("carol", true)
	bob.expect("state")
	carol.expect("state")
	f.cancel(holds["alice"])
	bob.expect("promoted")
	carol.expect("position")
}

// A client that never reads fills its buffers and is dropped, its place
// freed, while a client that reads hears of every move at once.
func TestServedSlowClientDelaysNobody(t *testing.T) {
	const moves = 40
	users := []string{"h"}
	for i := range moves {
		users = append(users, fmt.Sprintf("p%02d", i))
	}
	users = append(users, "slow", "fast")
	f := newFixture(t, live.Config{Writers: 1}) // one writer: both streams share it
	id := f.sale(1, users...)["h"]
	slow := f.serve("slow", false)
	fast := f.serve("fast", true)
	fast.expect("state")
	for i := range moves {
		f.cancel(id)
		fast.expect("position")
		st, err := f.store.User(f.ctx, fmt.Sprintf("p%02d", i))
		if err != nil || st.Reservation == nil {
			t.Fatalf("p%02d: %+v, %v", i, st, err)
		}
		id = st.Reservation.ID
		f.clock.Advance(live.Coalesce)
	}
	// 40 messages of 8 KiB: past the buffers and MaxPending.
	f.openStreams(1)
	_ = slow.client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, slow.client); err != nil {
		t.Fatalf("the slow client's connection was not closed: %v", err)
	}
}

// A client that leaves is found without a write: its place is free at once.
func TestServedClientThatLeavesIsDropped(t *testing.T) {
	f := newFixture(t, live.Config{MaxPerUser: 1})
	f.sale(1, "alice")
	a := f.serve("alice", true)
	a.expect("state")
	a.client.Close()
	f.openStreams(0)
	f.serve("alice", true).expect("state")
}

// A served stream that has said nothing for Heartbeat says so, on the
// hub's clock; the same write finds a client that left without a word.
func TestServedHeartbeat(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.sale(1, "alice")
	a := f.serve("alice", true)
	a.expect("state")
	f.armed(1)
	f.clock.Advance(live.Heartbeat)
	a.expect("")
}

// Close ends served streams too: net/http no longer tracks their
// connections, so the hub must close them.
func TestCloseEndsServedStreams(t *testing.T) {
	f := newFixture(t, live.Config{})
	f.sale(1, "alice")
	a := f.serve("alice", true)
	a.expect("state")
	f.hub.Close()
	select {
	case _, ok := <-a.lines:
		if ok {
			t.Fatal("a message after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the connection is still open after Close")
	}
	if n := f.hub.Stats().Open; n != 0 {
		t.Fatalf("%d streams open after Close", n)
	}
}
