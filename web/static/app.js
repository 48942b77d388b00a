// The waiting room: what each button does, and whose state the page follows.
//
// Two sources tell the page where the shopper stands: the answers to its own
// requests, and the user's event stream. The stream is the truth; an answer
// is shown only while the stream has said nothing newer, so that a slow
// answer never hides a promotion that the stream already brought.
//
// A scheduled sale. Before its opening, Buy joins the pre-queue (a 202 with
// status queued): the page counts down to the draw, and the stream's drawn
// event brings the hold or the place the draw gave. From the close on (the
// stream's closed event, or the panel's reading of GET /status, on arrival
// too) the sale has ended for everyone but a holder, who may still confirm.
//
// Who the shopper is. By default the sale signs its own shopper tokens: the
// first Buy under a name new to the sale is answered with that name's token
// (shopper_token), which tokens.js keeps in this browser, and every later
// call about the name sends it as Authorization: Bearer. A name the sale
// already knows, typed in a browser without its token, is refused
// (token-required), and the page says so in words.
//
// The shop's own tokens (flashsale --shopper-jwt-keys or
// --shopper-jwt-secret). The shop signs its shoppers in itself, and sends
// each here with the JWT it signed for them in the URL fragment:
//
//   https://<the waiting room>/#token=<JWT>
//
// The page takes the token from the fragment before it does anything else,
// and clears the fragment at once with history.replaceState, so that the
// token is left neither in the history nor in a link the shopper copies (a
// fragment is never sent to a server, so it is in no server's or proxy's log
// either). The shopper is the token's sub, read from its payload (base64url
// JSON) without checking the signature: the server checks the token on every
// call, and the page only needs to know whose it is. The token is kept as
// the sale's own are, so a reload and the shopper's other tabs keep it; a
// token past its time is refused (unauthorized), and the page asks the
// shopper to sign in at the shop again.

import { call, newKey, problems } from "./api.js";
import { streamEvents } from "./events.js";
import { nameProblem } from "./name.js";
import { panelNews, startPanel } from "./panel.js";
import { takeShopToken } from "./shop.js";
import { watch } from "./stream.js";
import { forget, keep, recall, remember, tokenOf } from "./tokens.js";
import { render, salePhase, say } from "./view.js";

// First of all: the token leaves the address bar.
const fromShop = takeShopToken();

const $ = (id) => document.getElementById(id);

let user = ""; // whose state the page follows
let stream = null;
let heard = null; // the newest state from the stream
let shown = null; // the state on screen, from the stream or an answer
let pending = null; // the request in flight, stopped by the next press

function show(state, event) {
  shown = state;
  render(state, event);
}

// follow makes name the shopper the page shows, closing the previous
// name's stream, and opens name's stream when this browser has its token.
// How the stream is doing goes in #link, apart from #message, so that
// neither hides the other: "too many tabs" and the answer to Buy can come
// at the same moment.
function follow(name) {
  if (name === user && stream) {
    return;
  }
  stream?.close();
  stream = null;
  user = name;
  heard = shown = null;
  // Nothing of the previous name stays on screen; the new stream's first
  // event says what this one has.
  render({ user_id: name, state: "none" }, "");
  $("link").hidden = true;
  listen();
}

// listen opens the followed name's stream, if this browser has the name's
// token: without it the shop would only refuse the stream. A name new to
// the sale gets its token from its first Buy, which calls listen again.
function listen() {
  const name = user;
  const token = tokenOf(name);
  if (!token || stream) {
    return;
  }
  remember(name);
  setLink("Connecting…", "down");
  const mine = (stream = watch(name, token, {
    onState(state, event) {
      heard = state;
      show(state, event);
      if (streamEvents[event]?.phase !== undefined) {
        panelNews();
      }
    },
    onLink(trouble) {
      setLink(trouble || `Live updates for ${name}`, trouble ? "down" : "up");
    },
    onRefused(_problem, words) {
      if (stream === mine) {
        stream = null;
      }
      setLink(words, "down");
    },
  }));
}

function setLink(text, tone) {
  const link = $("link");
  link.hidden = false;
  link.textContent = text;
  link.className = "link " + tone;
}

// act sends one change with a fresh Idempotency-Key (kept for its
// retries), and returns the answer, or null if a newer press stopped it.
async function act(method, path, body, buttons = [], token = "") {
  pending?.abort();
  const mine = (pending = new AbortController());
  buttons.forEach((b) => (b.disabled = true));
  try {
    return await call(method, path, { body, key: newKey(), token, signal: mine.signal, onWait: (w) => say(w, "bad") });
  } catch (err) {
    if (!mine.signal.aborted) {
      say("Something went wrong in this page: " + err.message, "bad");
    }
    return null;
  } finally {
    buttons.forEach((b) => (b.disabled = false));
    if (pending === mine) {
      pending = null;
    }
  }
}

// streamIsAhead: the stream already told of a hold, a place or a purchase,
// which no answer to this press can be newer than.
const streamIsAhead = () => heard !== null && heard.state !== "none";

async function buy(event) {
  event.preventDefault();
  const name = $("name").value.trim();
  const wrong = nameProblem(name);
  if (wrong) {
    say(wrong, "bad");
    $("name").focus();
    return;
  }
  say("");
  follow(name);
  const token = tokenOf(name);
  let res = await act("POST", "/reserve", { user_id: name }, [], token);
  if (res?.problem?.type === problems.unauthorized && token) {
    // The shop no longer takes this browser's token for the name (past its
    // time, or signed by a key the shop dropped). Without it, a name the
    // sale does not know gets a new token, and one it knows is told so.
    forget(name);
    stream?.close();
    stream = null;
    $("link").hidden = true;
    res = await act("POST", "/reserve", { user_id: name });
  }
  if (!res) {
    return;
  }
  if (res.data?.shopper_token) {
    keep(name, res.data.shopper_token);
  }
  if (res.status === 201 || res.status === 202) {
    listen();
  }
  if (res.status === 201) {
    if (!streamIsAhead()) show({ user_id: name, state: "held", reservation: res.data }, "held");
  } else if (res.status === 202) {
    if (!streamIsAhead()) {
      show(...accepted(name, res.data));
    }
  } else if (res.problem.type === problems.saleClosed) {
    salePhase("closed", performance.now());
    say(res.words);
  } else if (res.problem.type === problems.alreadyReserved) {
    // Not an error to the shopper: they have one. The stream shows which,
    // or, while it is not open (too many tabs), one read of the user does.
    say("You already have one: here it is.");
    if (heard) {
      show(heard, "state");
    } else {
      const now = await call("GET", "/users/" + encodeURIComponent(name), { token: tokenOf(name) });
      if (now.data && !heard && user === name) show(now.data, "state");
    }
  } else {
    say(res.words, "bad");
  }
}

// accepted is the state a reserve's 202 tells of, and the event it stands
// for: a place in the pre-queue of a scheduled sale, or in line.
function accepted(name, data) {
  if (data.status === "queued") {
    return [{ user_id: name, state: "queued", opens_at: data.opens_at, draw_commitment: data.draw_commitment }, "queued"];
  }
  return [{ user_id: name, state: "waiting", waitlist_position: data.waitlist_position, estimated_wait_seconds: null }, "joined"];
}

async function settle(verb) {
  const r = shown?.reservation;
  if (!r) {
    return;
  }
  const res = await act("POST", `/reservations/${encodeURIComponent(r.reservation_id)}/${verb}`, undefined, [$("confirm"), $("cancel")], tokenOf(r.user_id));
  if (!res) {
    return;
  }
  if (res.problem) {
    say(res.words, "bad");
  } else if (verb === "confirm") {
    show({ user_id: r.user_id, state: "confirmed", reservation: res.data }, "confirmed");
  } else {
    show({ user_id: r.user_id, state: "none", reservation: res.data }, "cancelled");
  }
}

// leave takes the shopper out of the line or the pre-queue.
async function leave() {
  const name = user;
  const res = await act("DELETE", "/waitlist/" + encodeURIComponent(name), undefined, [$("leave"), $("leave-prequeue")], tokenOf(name));
  if (!res) {
    return;
  }
  if (res.problem) {
    say(res.words, "bad");
  } else {
    show({ user_id: name, state: "none" }, "left");
  }
}

$("buy-form").addEventListener("submit", buy);
$("confirm").addEventListener("click", () => settle("confirm"));
$("cancel").addEventListener("click", () => settle("cancel"));
$("leave").addEventListener("click", leave);
$("leave-prequeue").addEventListener("click", leave);
startPanel((status, askedAt) => salePhase(status.phase, askedAt));

// The shop's sign-in names the shopper; otherwise a reload keeps following
// the tab's name, and a new tab the name this browser used last, so that a
// place in line is not lost from view (the stream's first event shows it).
let back = recall();
if (fromShop) {
  if (fromShop.user && !nameProblem(fromShop.user)) {
    keep(fromShop.user, fromShop.token);
    back = fromShop.user;
  } else {
    say("The shop's link does not say who you are: go back to the shop and sign in again.", "bad");
  }
}
if (back && !nameProblem(back)) {
  $("name").value = back;
  follow(back);
}
