// Talking to the shop: requests, their retries, and errors turned into words.
//
// Every error the server sends is an RFC 9457 problem whose `type` is stable,
// so the page branches on `type` and never shows the JSON itself.

export const problems = {
  notInitialized: "/problems/not-initialized",
  rateLimited: "/problems/rate-limited",
  unavailable: "/problems/unavailable",
  streamsFull: "/problems/streams-full",
  tooManyStreams: "/problems/too-many-streams",
  holdExpired: "/problems/hold-expired",
  alreadyReserved: "/problems/already-reserved",
  invalid: "/problems/invalid-request",
  keyInUse: "/problems/idempotency-key-in-use",
  unauthorized: "/problems/unauthorized",
  tokenRequired: "/problems/token-required",
  forbidden: "/problems/forbidden",
  saleClosed: "/problems/sale-closed",
};

export const unreachable = "Cannot reach the shop; retrying…";

// busy is what the page says while it waits to try again by itself.
export function busy(seconds) {
  return `The shop is busy or down; trying again in ${seconds} ${plural(seconds, "second")}.`;
}

// The words for a name whose token this browser does not have.
const elsewhere = "This name is already in the sale from another device or browser. Use that device, or pick another name.";

// words is the sentence a shopper reads for a problem; tokenSent says
// whether the request carried a shopper token.
export function words(problem, retryAfter, tokenSent = false) {
  switch (problem.type) {
    case problems.tokenRequired:
      return elsewhere;
    case problems.unauthorized:
      // Without a token, only a shop that signs its shoppers in itself
      // (the shop's own tokens) refuses a name; with one, the token is
      // past its time or signed by a key the shop has dropped.
      return tokenSent
        ? "This browser's pass for this name has expired or is no longer accepted: press Buy to try again, sign in at the shop again if it sent you here, or pick another name."
        : "This name is already in the sale from another device or browser, or needs the shop's sign-in. Sign in at the shop, use that device, or pick another name.";
    case problems.forbidden:
      return "This browser is signed in under another name, and can act only for that one.";
    case problems.notInitialized:
      return "The sale has not started yet.";
    case problems.saleClosed:
      return "The sale has ended: nothing more is handed out.";
    case problems.rateLimited:
      return `Too many tries; wait ${retryAfter} ${plural(retryAfter, "second")}.`;
    case problems.unavailable:
    case problems.streamsFull:
      return busy(retryAfter);
    case problems.holdExpired:
      return "Your hold expired before you confirmed.";
    case problems.invalid:
      return "That name cannot be used: " + (problem.detail || "the shop refused it.");
    case problems.tooManyStreams:
      return "This name is open in too many tabs.";
    default:
      return problem.title || "Something went wrong.";
  }
}

function plural(n, word) {
  return n === 1 ? word : word + "s";
}

// retryAfterSeconds reads Retry-After (the server sends whole seconds).
export function retryAfterSeconds(res, fallback) {
  const n = parseInt(res.headers.get("Retry-After") || "", 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

// readProblem gets the problem out of an error answer. An answer that is not
// a problem (a proxy's HTML page, say) becomes one built from its status, so
// that nothing but a title ever reaches the page.
export async function readProblem(res) {
  const type = res.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      const p = await res.json();
      if (p && typeof p === "object") {
        return p;
      }
    } catch {
      // fall through to the status
    }
  }
  return { type: "", title: `The shop answered ${res.status} ${res.statusText}`.trim(), status: res.status };
}

// sleep waits, or ends early with an AbortError when signal aborts.
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

// call sends one request, with token as its bearer token when given, and
// returns { status, data } or { status, problem, words }. While the shop cannot answer (no network, 503) it tries again by
// itself, telling onWait what it is doing. A retry sends the same
// Idempotency-Key, so the shop does the change at most once however many
// tries reach it. signal stops the tries (the shopper pressed something else).
export async function call(method, path, { body, key, token, signal, onWait = () => {} } = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (token) {
    headers.Authorization = "Bearer " + token;
  }
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  if (key) {
    headers["Idempotency-Key"] = key;
  }
  const init = { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) };
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(path, init);
    } catch (err) {
      if (signal?.aborted) {
        throw err;
      }
      onWait(unreachable);
      // 1, 2, 4, 8 s, then every 10 s: a restarting server is back soon,
      // one that is down need not be asked often.
      await sleep(Math.min(1000 * 2 ** attempt, 10000), signal);
      continue;
    }
    if (res.ok) {
      const data = res.status === 204 ? null : await res.json();
      return { status: res.status, data };
    }
    const problem = await readProblem(res);
    const wait = retryAfterSeconds(res, 2);
    if (problem.type === problems.unavailable || problem.type === problems.streamsFull || (res.status === 503 && !problem.type)) {
      onWait(busy(wait));
      await sleep(wait * 1000, signal);
      continue;
    }
    if (problem.type === problems.keyInUse) {
      // The first try with this key is still running: asking again soon
      // brings its answer back.
      await sleep(wait * 1000, signal);
      continue;
    }
    return { status: res.status, problem, words: words(problem, wait, Boolean(token)) };
  }
}

// newKey makes an Idempotency-Key. crypto.randomUUID exists only on HTTPS
// and localhost; a shop reached over plain HTTP on a LAN still gets a
// random version 4 UUID from getRandomValues, which exists everywhere.
export function newKey() {
  if (crypto.randomUUID) {
    return crypto.randomUUID();
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
