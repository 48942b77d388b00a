// The user's live state: GET /users/{id}/events.
//
// EventSource cannot send an Authorization header, and the stream is the
// shopper's own, so it is read with fetch and a ReadableStream reader, and
// sse.js parses it. What EventSource did by itself the page does here:
// reconnect after the stream ends or fails, send Last-Event-ID with the last
// id it had, and wait as the server asks (retry:, or Retry-After on a 429 or
// 503), backing off while tries keep failing, up to maxWaitMs.
//
// Every event's data is the user's whole state, so the page never has to
// piece changes together: the newest event is the truth.

import { busy, problems, readProblem, retryAfterSeconds, sleep, unreachable, words } from "./api.js";
import { eventNames } from "./events.js";
import { EventParser } from "./sse.js";

// Until the server's retry: says otherwise (it asks for 2 s).
const defaultRetryMs = 2000;
// Failed tries wait twice as long each time, up to this: a shop that is
// down is not asked often, and one that is back is found within this.
export const maxWaitMs = 30000;
// A failed try waits at least this, whatever retry: says, so that a broken
// server is never asked in a tight loop.
const minFailWaitMs = 1000;

// spread adds up to a quarter, at random, to a wait (never beyond
// maxWaitMs): the browsers of a whole crowd, cut off at once by a server
// going away, then do not all come back in the same instant.
function spread(ms) {
  return Math.min(ms * (1 + Math.random() / 4), Math.max(ms, maxWaitMs));
}

// watch follows user's state, sending token, until close() is called.
// onState(state, name) gets each event; onLink(trouble) says why the
// stream is not working, or gets "" when it works. onRefused(problem, words)
// is told when the shop refuses this token (401 or 403): the stream stops,
// since asking again with the same token can only be refused again.
export function watch(user, token, { onState, onLink: tell, onRefused = () => {} }) {
  const url = "/users/" + encodeURIComponent(user) + "/events";
  const stop = new AbortController();
  let lastId = "";
  let retryMs = defaultRetryMs;
  let failures = 0; // tries in a row that brought no event
  // A try still running when the page switches to another name must not
  // speak for the new one.
  const onLink = (trouble) => stop.signal.aborted || tell(trouble);

  // backoff is the wait after a try that failed with no word from the
  // server on when to come back (no network, a stream that ended before
  // its first event, an error page): the server's retry:, doubling with
  // each such failure in a row, at most maxWaitMs.
  function backoff() {
    const ms = Math.min(Math.max(retryMs, minFailWaitMs) * 2 ** failures, maxWaitMs);
    failures++;
    return spread(ms);
  }

  // once makes one connection and reads it to its end; it returns how long
  // to wait before the next, or null to stop.
  async function once() {
    const headers = { Accept: "text/event-stream", Authorization: "Bearer " + token };
    if (lastId !== "") {
      headers["Last-Event-ID"] = lastId;
    }
    let res;
    try {
      res = await fetch(url, { headers, signal: stop.signal, cache: "no-store" });
    } catch {
      onLink(unreachable);
      return backoff();
    }
    if (!res.ok) {
      const problem = await readProblem(res).catch(() => ({ type: "", title: "" }));
      const wait = retryAfterSeconds(res, 0);
      if (stop.signal.aborted) {
        return null;
      }
      if (res.status === 401 || res.status === 403) {
        onRefused(problem, words(problem, wait, true));
        return null;
      }
      if (problem.type === problems.tooManyStreams) {
        onLink(words(problem, wait) + " Close one, and this one reconnects by itself.");
      } else if (res.status === 503 || res.status === 429) {
        onLink(busy(wait || 5));
      } else {
        onLink(words(problem, wait) + " Reconnecting…");
      }
      // Retry-After is the server's word on when it can take the stream
      // (another tab closed, room on the server): it is kept, not doubled,
      // but bounded like every wait.
      return wait > 0 ? spread(Math.min(wait * 1000, maxWaitMs)) : backoff();
    }
    let heard = false;
    const parser = new EventParser((e) => {
      if (!eventNames.has(e.type)) {
        return;
      }
      let state;
      try {
        state = JSON.parse(e.data);
      } catch {
        return; // not a state: nothing the page could show
      }
      heard = true;
      failures = 0;
      onLink("");
      onState(state, e.type);
    }, lastId);
    try {
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        parser.push(value);
      }
      parser.end();
    } catch {
      // The connection broke mid-stream: the same as an end, below.
    } finally {
      lastId = parser.lastId;
      if (parser.retry !== null) {
        retryMs = Math.min(parser.retry, maxWaitMs);
      }
    }
    onLink("Reconnecting…");
    // A stream that brought events ended as streams do (a server going
    // away, a proxy's timeout): come back after the server's retry. One
    // that brought nothing counts as a failure.
    return heard ? spread(retryMs) : backoff();
  }

  (async () => {
    while (!stop.signal.aborted) {
      const wait = await once();
      if (wait === null) {
        return;
      }
      try {
        await sleep(wait, stop.signal);
      } catch {
        return; // closed
      }
    }
  })().catch(() => {});

  return {
    close() {
      stop.abort();
    },
  };
}
