// What the shopper sees: one render for every state, whatever brought it.

const $ = (id) => document.getElementById(id);

const sections = { held: $("hold"), waiting: $("line"), confirmed: $("done") };

// The sentence each event adds. An event not listed leaves the message as
// it was ("position" only moves the number in line).
const eventWords = {
  joined: ["You are in line. This page changes by itself when your turn comes.", "info"],
  held: ["", "info"],
  promoted: ["Your turn! One is held for you: confirm it before the time runs out.", "loud"],
  confirmed: ["", "good"],
  cancelled: ["Cancelled. The unit went back on sale.", "info"],
  expired: ["Your hold expired before you confirmed.", "bad"],
  left: ["You left the line.", "info"],
  reset: ["A new sale started.", "info"],
};

// say puts words in #message. tone is info, good, loud or bad.
export function say(text, tone = "info") {
  const m = $("message");
  m.textContent = text;
  m.className = "message " + tone;
}

let ticking = 0;

// render shows state (the JSON of GET /users/{id}); name is the event that
// brought it, which only picks the message.
export function render(state, name) {
  for (const [key, section] of Object.entries(sections)) {
    section.hidden = key !== state.state;
  }
  clearInterval(ticking);
  if (state.state === "held" && state.reservation) {
    startCountdown(state.reservation.expires_at);
  }
  if (state.state === "waiting") {
    $("position").textContent = String(state.waitlist_position ?? "–");
    $("wait").textContent = formatWait(state.estimated_wait_seconds);
  }
  if (name in eventWords) {
    say(...eventWords[name]);
  } else if (name === "state") {
    const words = firstWords(state);
    if (words) say(...words);
  }
}

// firstWords explains a state met on arrival, before anything happened, or
// is null: a stream (re)opening must not wipe what the page just said, such
// as why a Buy failed.
function firstWords(state) {
  if (state.state === "none" && state.reservation) {
    const s = state.reservation.status;
    if (s === "expired") return ["Your last hold expired.", "info"];
    if (s === "cancelled") return ["Your last hold was cancelled.", "info"];
  }
  return null;
}

// The countdown uses this browser's clock: a clock that is off shows the
// time off by as much, which the shop's own expiry does not depend on.
function startCountdown(expiresAt) {
  const end = Date.parse(expiresAt);
  const tick = () => {
    const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    $("countdown").textContent = formatClock(left);
    $("countdown").classList.toggle("urgent", left <= 30);
    if (left === 0) {
      clearInterval(ticking);
    }
  };
  tick();
  ticking = setInterval(tick, 1000);
}

export function formatClock(seconds) {
  const mm = String(Math.floor(seconds / 60)).padStart(2, "0");
  const ss = String(seconds % 60).padStart(2, "0");
  return `${mm}:${ss}`;
}

// formatWait words the shop's estimate; null means it has none yet (no unit
// has reached the line lately, so there is no rate to divide by).
export function formatWait(seconds) {
  if (seconds === null || seconds === undefined) return "estimating…";
  if (seconds < 1) return "any moment now";
  if (seconds < 90) return `about ${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `about ${Math.round(seconds / 60)} min`;
  return `about ${Math.round(seconds / 3600)} h`;
}
