// The waiting room: what each button does, and whose state the page follows.
//
// Two sources tell the page where the shopper stands: the answers to its own
// requests, and the user's event stream. The stream is the truth; an answer
// is shown only while the stream has said nothing newer, so that a slow
// answer never hides a promotion that the stream already brought.

import { call, newKey, problems } from "./api.js";
import { nameProblem } from "./name.js";
import { startPanel } from "./panel.js";
import { watch } from "./stream.js";
import { render, say } from "./view.js";

const $ = (id) => document.getElementById(id);
const remembered = "flashsale.user";

let user = ""; // whose state the page follows
let stream = null;
let heard = null; // the newest state from the stream
let shown = null; // the state on screen, from the stream or an answer
let pending = null; // the request in flight, stopped by the next press

function show(state, event) {
  shown = state;
  render(state, event);
}

// follow opens the stream of name, closing the previous one. How the stream
// is doing goes in #link, apart from #message, so that neither hides the
// other: "too many tabs" and the answer to Buy can come at the same moment.
function follow(name) {
  if (name === user && stream) {
    return;
  }
  stream?.close();
  user = name;
  heard = shown = null;
  // Nothing of the previous name stays on screen; the new stream's first
  // event says what this one has.
  render({ user_id: name, state: "none" }, "");
  sessionStorage.setItem(remembered, name);
  setLink("Connecting…", "down");
  stream = watch(name, {
    onState(state, event) {
      heard = state;
      show(state, event);
    },
    onLink(trouble) {
      setLink(trouble || `Live updates for ${user}`, trouble ? "down" : "up");
    },
  });
}

function setLink(text, tone) {
  const link = $("link");
  link.hidden = false;
  link.textContent = text;
  link.className = "link " + tone;
}

// act sends one change with a fresh Idempotency-Key (kept for its
// retries), and returns the answer, or null if a newer press stopped it.
async function act(method, path, body, buttons = []) {
  pending?.abort();
  const mine = (pending = new AbortController());
  buttons.forEach((b) => (b.disabled = true));
  try {
    return await call(method, path, { body, key: newKey(), signal: mine.signal, onWait: (w) => say(w, "bad") });
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
  const res = await act("POST", "/reserve", { user_id: name });
  if (!res) {
    return;
  }
  if (res.status === 201) {
    if (!streamIsAhead()) show({ user_id: name, state: "held", reservation: res.data }, "held");
  } else if (res.status === 202) {
    if (!streamIsAhead()) {
      show({ user_id: name, state: "waiting", waitlist_position: res.data.waitlist_position, estimated_wait_seconds: null }, "joined");
    }
  } else if (res.problem.type === problems.alreadyReserved) {
    // Not an error to the shopper: they have one. The stream shows which,
    // or, while it is not open (too many tabs), one read of the user does.
    say("You already have one: here it is.");
    if (heard) {
      show(heard, "state");
    } else {
      const now = await call("GET", "/users/" + encodeURIComponent(name));
      if (now.data && !heard && user === name) show(now.data, "state");
    }
  } else {
    say(res.words, "bad");
  }
}

async function settle(verb) {
  const r = shown?.reservation;
  if (!r) {
    return;
  }
  const res = await act("POST", `/reservations/${encodeURIComponent(r.reservation_id)}/${verb}`, undefined, [$("confirm"), $("cancel")]);
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

async function leave() {
  const name = user;
  const res = await act("DELETE", "/waitlist/" + encodeURIComponent(name), undefined, [$("leave")]);
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
startPanel();

// A reload keeps following the same shopper, so a place in line is not
// lost from view (the stream's first event shows it again).
const back = sessionStorage.getItem(remembered);
if (back && !nameProblem(back)) {
  $("name").value = back;
  follow(back);
}
