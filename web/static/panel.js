// The live panel: GET /status every second, its numbers, the sale's window
// and draw, and the chart of the last five minutes, kept in memory only.

import { draw } from "./chart.js";
import { timeOfDay } from "./time.js";

const windowMs = 5 * 60 * 1000;
const everyMs = 1000;
const samples = [];

const $ = (id) => document.getElementById(id);

// startPanel polls for as long as the page is open, and tells onStatus
// each reading of the sale and when it was asked for (performance.now()).
export function startPanel(onStatus = () => {}) {
  const canvas = $("chart");
  let next = null; // the timer of the next reading
  const redraw = () => draw(canvas, samples, Date.now(), windowMs);
  window.addEventListener("resize", redraw);

  async function poll() {
    try {
      const asked = performance.now();
      const res = await fetch("/status", { headers: { Accept: "application/json" } });
      if (!res.ok) {
        throw new Error(String(res.status));
      }
      const s = await res.json();
      show(s);
      onStatus(s, asked);
      $("panel").classList.remove("stale");
    } catch {
      // The numbers stay, greyed, as the last ones known.
      $("panel").classList.add("stale");
      $("panel-note").textContent = "Cannot reach the shop; retrying…";
    }
    redraw();
    // Wait for one answer before asking again, so a slow server is never
    // sent a pile of requests.
    next = setTimeout(poll, everyMs);
  }
  // A stream event that changes the sale's phase (a draw, the close) makes
  // the numbers beside it old at once: read them again now rather than up
  // to a second later. Between two readings only; one in flight is left to
  // finish and schedule the next.
  readAgain = () => {
    if (next !== null) {
      clearTimeout(next);
      next = null;
      poll();
    }
  };
  poll();
}

let readAgain = () => {};

// panelNews reads GET /status again at once: the stream told of a change
// to the whole sale.
export function panelNews() {
  readAgain();
}

function show(s) {
  const n = (v) => (s.initialized ? String(v) : "–");
  $("stock").textContent = n(s.available);
  $("held").textContent = n(s.held);
  $("sold").textContent = n(s.confirmed);
  $("waiting").textContent = n(s.waitlist_size);
  $("total").textContent = n(s.total_inventory);
  $("panel-note").textContent = s.initialized ? "" : "The sale has not started yet.";
  showWindow(s);
  if (!s.initialized) {
    return;
  }

  const now = Date.now();
  samples.push({ t: now, waiting: s.waitlist_size, sold: s.confirmed });
  while (samples.length && samples[0].t < now - windowMs) {
    samples.shift();
  }
}

// showWindow says when the sale opens or closes, in this browser's time,
// and, for a sale with a draw, its commitment and, from the opening on,
// its seed and how to check it.
function showWindow(s) {
  const note = $("window-note");
  note.textContent = windowWords(s);
  note.hidden = note.textContent === "";

  $("draw").hidden = !s.draw_commitment;
  $("draw-commitment").textContent = s.draw_commitment ?? "";
  $("draw-seed").textContent = s.draw_seed ?? "";
  $("draw-seed-shown").hidden = !s.draw_seed;
  $("draw-seed-later").hidden = Boolean(s.draw_seed);
}

function windowWords(s) {
  switch (s.phase) {
    case "scheduled":
      return `The sale opens at ${timeOfDay(s.opens_at)}. ${s.prequeue_size} in the pre-queue so far: ` +
        "Buy to join it; places are drawn at random at the opening, so coming earlier does not help.";
    case "open":
      return s.closes_at ? `The sale is open until ${timeOfDay(s.closes_at)}.` : "";
    case "closed":
      return s.closes_at ? `The sale ended at ${timeOfDay(s.closes_at)}.` : "The sale has ended.";
    default:
      return "";
  }
}
