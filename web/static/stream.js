// The user's live state: GET /users/{id}/events, read with EventSource.
//
// Every event's data is the user's whole state, so the page never has to
// piece changes together: the newest event is the truth.

import { busy, problems, readProblem, retryAfterSeconds, unreachable, words } from "./api.js";

const eventNames = ["state", "joined", "position", "held", "promoted", "confirmed", "cancelled", "expired", "left", "reset"];

// watch follows user's state until close() is called. onState(state, name)
// gets each event; onLink(trouble) says why the stream is not working, or
// gets "" when it works.
export function watch(user, { onState, onLink: tell }) {
  const url = "/users/" + encodeURIComponent(user) + "/events";
  let source = null;
  let timer = 0;
  let closed = false;
  // A diagnosis still running when the page switches to another name must
  // not speak for the new one.
  const onLink = (trouble) => closed || tell(trouble);

  function open() {
    const es = (source = new EventSource(url));
    for (const name of eventNames) {
      es.addEventListener(name, (e) => {
        let state;
        try {
          state = JSON.parse(e.data);
        } catch {
          return; // not a state: nothing the page could show
        }
        onLink("");
        onState(state, name);
      });
    }
    es.addEventListener("error", () => {
      if (closed) {
        return;
      }
      if (es.readyState !== EventSource.CLOSED) {
        // CONNECTING: the browser reconnects by itself (the server asks
        // for a 2 s delay), and the first event after it is the whole
        // state again, so nothing is lost.
        onLink("Reconnecting…");
        return;
      }
      // CLOSED: the server refused the stream (too many, or busy) and the
      // browser gave up. It does not tell why; one plain request does.
      onLink("Reconnecting…");
      source = null;
      diagnose().then((seconds) => {
        if (!closed) {
          timer = setTimeout(open, seconds * 1000);
        }
      });
    });
  }

  // diagnose asks for the stream once with fetch, which can read the
  // problem EventSource hid, says it, and returns how long to wait before
  // opening the stream again.
  async function diagnose() {
    const stop = new AbortController();
    try {
      const res = await fetch(url, { signal: stop.signal, headers: { Accept: "text/event-stream" } });
      if (res.ok) {
        return 1; // it works again; this copy is not needed
      }
      const problem = await readProblem(res);
      const wait = retryAfterSeconds(res, 5);
      if (problem.type === problems.tooManyStreams) {
        onLink(words(problem, wait) + " Close one, and this one reconnects by itself.");
      } else if (res.status === 503) {
        onLink(busy(wait));
      } else {
        onLink(words(problem, wait) + " Reconnecting…");
      }
      return wait;
    } catch {
      onLink(unreachable);
      return 3;
    } finally {
      stop.abort();
    }
  }

  open();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      source?.close();
    },
  };
}
