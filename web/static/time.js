// Times and durations in words and figures, for every part of the page.
// Each uses this browser's clock and time zone: a clock that is off shows
// the time off by as much, which the shop's own deadlines (a hold's expiry,
// the draw at the opening) do not depend on.

const pad = (n) => String(n).padStart(2, "0");

// formatClock shows a number of seconds as mm:ss (minutes may pass 59).
export function formatClock(seconds) {
  return `${pad(Math.floor(seconds / 60))}:${pad(seconds % 60)}`;
}

// formatSpan shows a number of seconds as mm:ss, or h:mm:ss from an hour
// on: a countdown to an opening may be hours long.
export function formatSpan(seconds) {
  if (seconds < 3600) {
    return formatClock(seconds);
  }
  return `${Math.floor(seconds / 3600)}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
}

// timeOfDay shows an RFC 3339 instant as HH:MM:SS in this browser's time
// zone, followed by its date when that is not today. Built from the
// figures rather than by toLocaleTimeString, whose form changes with the
// language (12-hour clocks, "24:00:00").
export function timeOfDay(iso) {
  const t = new Date(iso);
  const hms = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  return t.toDateString() === new Date().toDateString() ? hms : `${hms} on ${t.toLocaleDateString()}`;
}

// secondsUntil is the whole seconds left until an RFC 3339 instant, 0 once
// it has passed.
export function secondsUntil(iso) {
  return Math.max(0, Math.ceil((Date.parse(iso) - Date.now()) / 1000));
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
