// The live panel: GET /status every second, its numbers, and the chart of
// the last five minutes, kept in memory only.

import { draw } from "./chart.js";

const windowMs = 5 * 60 * 1000;
const everyMs = 1000;
const samples = [];

const $ = (id) => document.getElementById(id);

// startPanel polls for as long as the page is open.
export function startPanel() {
  const canvas = $("chart");
  const redraw = () => draw(canvas, samples, Date.now(), windowMs);
  window.addEventListener("resize", redraw);

  async function poll() {
    try {
      const res = await fetch("/status", { headers: { Accept: "application/json" } });
      if (!res.ok) {
        throw new Error(String(res.status));
      }
      show(await res.json());
      $("panel").classList.remove("stale");
    } catch {
      // The numbers stay, greyed, as the last ones known.
      $("panel").classList.add("stale");
      $("panel-note").textContent = "Cannot reach the shop; retrying…";
    }
    redraw();
    // Wait for one answer before asking again, so a slow server is never
    // sent a pile of requests.
    setTimeout(poll, everyMs);
  }
  poll();
}

function show(s) {
  const n = (v) => (s.initialized ? String(v) : "–");
  $("stock").textContent = n(s.available);
  $("held").textContent = n(s.held);
  $("sold").textContent = n(s.confirmed);
  $("waiting").textContent = n(s.waitlist_size);
  $("total").textContent = n(s.total_inventory);
  $("panel-note").textContent = s.initialized ? "" : "The sale has not started yet.";
  if (!s.initialized) {
    return;
  }

  const now = Date.now();
  samples.push({ t: now, waiting: s.waitlist_size, sold: s.confirmed });
  while (samples.length && samples[0].t < now - windowMs) {
    samples.shift();
  }
}
