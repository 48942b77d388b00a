package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/flashsale/flashsale/web"
)

// The page's event stream, read with fetch: the format, the token, and
// reconnecting as EventSource would.

// fakeShop serves the page's files, a blank page to run them in, and
// event streams that the test writes itself.
func fakeShop(t *testing.T, streams map[string]http.HandlerFunc) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(web.Files())))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>streams</title>")
	})
	for user, h := range streams {
		mux.HandleFunc("GET /users/"+user+"/events", h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestEventStreamFormat: the page reads the event-stream format by the
// standard's rules, whatever the pieces it arrives in: CR, LF and CRLF line
// ends (a CRLF split between pieces included), comments, data over several
// lines, a field with no colon, retry: that is not a number, and an event
// cut short by the end of the stream.
func TestEventStreamFormat(t *testing.T) {
	url := fakeShop(t, nil)
	browser := newBrowser(t, desktop)
	ctx := tab(t, browser, desktop, url+"/")
	type event struct{ Type, Data, ID string }
	type result struct {
		Events []event
		Retry  int
		LastID string
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[result](`import("/static/sse.js").then(({ EventParser }) => {
  const events = [];
  const p = new EventParser((e) => events.push({ Type: e.type, Data: e.data, ID: e.id }));
  for (const piece of ["data: a\ndata:b\r", "\n\r\n: a comment\r", "\nid: 1\rretry: 9x\nretry: 30\nevent: e\ndata\n\n", "id\n", "event: gone\ndata: cut"]) {
    p.push(piece);
  }
  p.end();
  return { Events: events, Retry: p.retry, LastID: p.lastId };
})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	want := result{Events: []event{{"message", "a\nb", ""}, {"e", "", "1"}}, Retry: 30, LastID: "1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
}

// TestEventStreamReconnects: the page's stream, read with fetch, sends the
// shopper's token, and reconnects by itself: after the stream ends it waits
// the server's retry: and sends Last-Event-ID; after a 503 it waits the
// Retry-After. A token the server refuses stops it, with words.
func TestEventStreamReconnects(t *testing.T) {
	type conn struct {
		auth, lastID string
		at           time.Time
	}
	var mu sync.Mutex
	var pat []conn
	lost := 0
	problem := func(w http.ResponseWriter, status int, typ string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"type":%q,"title":"refused","status":%d}`, typ, status)
	}
	url := fakeShop(t, map[string]http.HandlerFunc{
		"pat": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n := len(pat)
			pat = append(pat, conn{r.Header.Get("Authorization"), r.Header.Get("Last-Event-ID"), time.Now()})
			mu.Unlock()
			switch n {
			case 0: // one event, then the end
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, "retry: 300\n\n: hello\n\nid: 7\nevent: state\ndata: {\"user_id\":\"pat\",\"state\":\"waiting\",\"waitlist_position\":3}\n\n")
			case 1: // no room
				w.Header().Set("Retry-After", "1")
				problem(w, http.StatusServiceUnavailable, "/problems/streams-full")
			default: // an event in pieces, with CRLF, then open until the page leaves
				w.Header().Set("Content-Type", "text/event-stream")
				rc := http.NewResponseController(w)
				for _, piece := range []string{"id: 9\r\nevent: promoted\r", "\ndata: {\"user_id\":\"pat\",\r\ndata: \"state\":\"held\"}\r\n\r\n"} {
					_, _ = io.WriteString(w, piece)
					_ = rc.Flush()
					time.Sleep(50 * time.Millisecond)
				}
				<-r.Context().Done()
			}
		},
		"lost": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			lost++
			mu.Unlock()
			w.Header().Set("WWW-Authenticate", `Bearer realm="flashsale", error="invalid_token"`)
			problem(w, http.StatusUnauthorized, "/problems/unauthorized")
		},
	})
	browser := newBrowser(t, desktop)
	ctx := tab(t, browser, desktop, url+"/")
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`import("/static/stream.js").then(({ watch }) => {
  window.events = [];
  window.links = [];
  window.refused = [];
  watch("pat", "pat-token", { onState: (s, e) => events.push(e + " " + s.state), onLink: (l) => links.push(l) });
  watch("lost", "old-token", { onState: () => {}, onLink: () => {}, onRefused: (p, words) => refused.push(words) });
})`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "both events", `events.join() === "state waiting,promoted held"`)
	waitFor(t, ctx, "the refusal", `refused.length === 1`)
	links, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`links`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"", "Reconnecting…", "The shop is busy or down; trying again in 1 second."} {
		if !slices.Contains(links, want) {
			t.Errorf("the stream's line said %q, never %q", links, want)
		}
	}
	refused, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`refused`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(refused[0], "has expired or is no longer accepted") {
		t.Errorf("the refusal says %q", refused[0])
	}

	mu.Lock()
	defer mu.Unlock()
	if len(pat) != 3 {
		t.Fatalf("pat's stream was opened %d times, want 3", len(pat))
	}
	for i, c := range pat {
		if c.auth != "Bearer pat-token" {
			t.Errorf("connection %d: Authorization %q", i, c.auth)
		}
	}
	if pat[0].lastID != "" || pat[1].lastID != "7" || pat[2].lastID != "7" {
		t.Errorf("Last-Event-ID sent: %q, %q, %q; want none, then 7 and 7", pat[0].lastID, pat[1].lastID, pat[2].lastID)
	}
	if d := pat[1].at.Sub(pat[0].at); d < 300*time.Millisecond {
		t.Errorf("reconnected %v after the stream, before the retry: of 300ms", d)
	}
	if d := pat[2].at.Sub(pat[1].at); d < time.Second {
		t.Errorf("reconnected %v after the 503, before its Retry-After of 1s", d)
	}
	if lost != 1 {
		t.Errorf("the refused stream was asked %d times, want once", lost)
	}
}
