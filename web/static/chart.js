// A small line chart on a canvas: line length and units sold over a window
// of time, newest on the right. Colours match .key-line and .key-sold.

const colors = { waiting: "#d97706", sold: "#16a34a" };
const grid = "#e5e7eb";
const ink = "#6b7280";

// draw paints samples ({t, waiting, sold}, t in ms, oldest first) taken over
// the windowMs before now. Until the samples cover windowMs, the chart spans
// only what they cover (10 s at least), so a page opened a moment ago shows
// a chart rather than a dot at its right edge.
export function draw(canvas, samples, now, windowMs) {
  // Size the bitmap to the element's size on screen, times the pixel
  // ratio, so that lines stay sharp on phones and when the page resizes.
  const ratio = window.devicePixelRatio || 1;
  const cssWidth = canvas.clientWidth || 300;
  const cssHeight = canvas.clientHeight || 160;
  if (canvas.width !== Math.round(cssWidth * ratio) || canvas.height !== Math.round(cssHeight * ratio)) {
    canvas.width = Math.round(cssWidth * ratio);
    canvas.height = Math.round(cssHeight * ratio);
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, cssWidth, cssHeight);

  const pad = { left: 32, right: 8, top: 8, bottom: 20 };
  const w = cssWidth - pad.left - pad.right;
  const h = cssHeight - pad.top - pad.bottom;
  const top = niceMax(Math.max(1, ...samples.map((s) => Math.max(s.waiting, s.sold))));
  const span = samples.length ? Math.min(windowMs, Math.max(10000, now - samples[0].t)) : windowMs;
  const x = (t) => pad.left + w * (1 - (now - t) / span);
  const y = (v) => pad.top + h * (1 - v / top);

  g.font = "11px system-ui, sans-serif";
  g.lineWidth = 1;
  g.strokeStyle = grid;
  g.fillStyle = ink;
  g.textBaseline = "middle";
  g.textAlign = "right";
  // A middle line only where it falls on a whole number.
  for (const v of top % 2 === 0 ? [0, top / 2, top] : [0, top]) {
    g.beginPath();
    g.moveTo(pad.left, Math.round(y(v)) + 0.5);
    g.lineTo(pad.left + w, Math.round(y(v)) + 0.5);
    g.stroke();
    g.fillText(String(v), pad.left - 6, y(v));
  }
  g.textBaseline = "alphabetic";
  g.textAlign = "left";
  g.fillText(ago(span), pad.left, cssHeight - 4);
  g.textAlign = "right";
  g.fillText("now", pad.left + w, cssHeight - 4);

  if (!samples.length) {
    g.textAlign = "center";
    g.fillText("no numbers yet", pad.left + w / 2, pad.top + h / 2);
    return;
  }

  g.lineWidth = 2;
  g.lineJoin = "round";
  for (const key of ["waiting", "sold"]) {
    g.strokeStyle = colors[key];
    g.beginPath();
    samples.forEach((s, i) => {
      // A step line: each number holds until the next sample changes it,
      // and the newest holds until now.
      if (i === 0) {
        g.moveTo(x(s.t), y(s[key]));
      } else {
        g.lineTo(x(s.t), y(samples[i - 1][key]));
        g.lineTo(x(s.t), y(s[key]));
      }
    });
    g.lineTo(x(now), y(samples[samples.length - 1][key]));
    g.stroke();
  }
}

function ago(ms) {
  const s = Math.round(ms / 1000);
  return s < 90 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}

// niceMax rounds the top of the scale up to 1, 2 or 5 times a power of ten,
// so that the axis reads in round numbers.
function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) {
    if (v <= m * p) return m * p;
  }
  return 10 * p;
}
