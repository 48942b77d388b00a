// What the shopper sees: one render for every state, whatever brought it,
// and the sale's phase, which decides whether the sale has ended for them.

import { streamEvents } from "./events.js";
import { formatClock, formatSpan, formatWait, secondsUntil, timeOfDay } from "./time.js";

const $ = (id) => document.getElementById(id);

const sections = { queued: $("prequeue"), held: $("hold"), waiting: $("line"), confirmed: $("done") };

// say puts words in #message. tone is info, good, loud or bad.
export function say(text, tone = "info") {
  const m = $("message");
  m.textContent = text;
  m.className = "message " + tone;
}

let ticking = 0;
let current = null; // the state on screen
// The sale's phase as last known (scheduled, open, closed; "" before one
// is known), and when it was learnt (performance.now()).
let phase = "";
let phaseAt = -Infinity;

// render shows state (the JSON of GET /users/{id}); name is the event that
// brought it, which only picks the message.
export function render(state, name) {
  const before = current;
  current = state;
  const event = Object.hasOwn(streamEvents, name) ? streamEvents[name] : null;
  if (event?.phase !== undefined) {
    learnPhase(event.phase, performance.now());
  }
  layout();
  clearInterval(ticking);
  if (state.state === "held" && state.reservation) {
    startCountdown(state.reservation.expires_at);
  }
  if (state.state === "queued") {
    showPrequeue(state);
  }
  if (state.state === "waiting") {
    $("position").textContent = String(state.waitlist_position ?? "–");
    $("wait").textContent = formatWait(state.estimated_wait_seconds);
  }
  const words = event?.words(state, before);
  if (words) {
    say(...words);
  }
}

// salePhase tells the view the sale's phase from a reading of GET /status
// sent at askedAt (performance.now()). A reading sent before an event of
// the stream told the phase is older than that news, and is passed over.
export function salePhase(p, askedAt) {
  if (askedAt < phaseAt) {
    return;
  }
  learnPhase(p ?? "", askedAt);
  layout();
}

function learnPhase(p, at) {
  phase = p;
  phaseAt = at;
}

// ended says whether the sale has ended for the shopper: it has closed and
// they have no hold to confirm nor a purchase to see. A place in line or
// in the pre-queue is gone at the close, whatever an older answer said.
function ended() {
  const s = current?.state ?? "none";
  return phase === "closed" && s !== "held" && s !== "confirmed";
}

// layout shows the section of the state on screen, or the end of the sale.
function layout() {
  const gone = ended();
  for (const [key, section] of Object.entries(sections)) {
    section.hidden = gone || key !== current?.state;
  }
  $("ended").hidden = !gone;
  $("hold-closed").hidden = phase !== "closed";
}

// The countdowns use this browser's clock (see time.js).
function startCountdown(expiresAt) {
  const tick = () => {
    const left = secondsUntil(expiresAt);
    $("countdown").textContent = formatClock(left);
    $("countdown").classList.toggle("urgent", left <= 30);
    if (left === 0) {
      clearInterval(ticking);
    }
  };
  tick();
  ticking = setInterval(tick, 1000);
}

// showPrequeue shows the time of the draw, the countdown to it, and the
// draw's commitment: shortened on screen, whole in its title and in the
// panel's "Check the draw".
function showPrequeue(state) {
  const at = $("opens-at");
  at.textContent = timeOfDay(state.opens_at);
  at.dateTime = state.opens_at;
  at.title = new Date(state.opens_at).toString();
  const c = $("commitment");
  c.textContent = state.draw_commitment.slice(0, 16) + "…";
  c.title = state.draw_commitment;
  const tick = () => {
    const left = secondsUntil(state.opens_at);
    $("opening-countdown").textContent = formatSpan(left);
    // The shop draws within a second of the opening; the stream's drawn
    // event then replaces this section.
    $("opening-label").textContent = left > 0 ? "The draw in" : "Drawing places now…";
    if (left === 0) {
      clearInterval(ticking);
    }
  };
  tick();
  ticking = setInterval(tick, 1000);
}
