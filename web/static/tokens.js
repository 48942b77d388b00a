// Who the shopper is, as this browser remembers it: each name's shopper
// token, and which name a tab follows.
//
// Tokens are kept in localStorage, one key per user id
// (flashsale.token.<user_id>), because:
//   - sessionStorage belongs to one tab: a second tab of the same shopper,
//     or the same tab reopened, would have no token and be a stranger to
//     the shop (401 token-required), their place in line out of sight;
//   - an HttpOnly cookie is out of the script's reach, so the page could not
//     send it as "Authorization: Bearer", the only way the API takes a
//     shopper's token (and a cookie would go along on requests that other
//     sites make the browser send).
// The price: any script running in this page can read localStorage, so a
// cross-site scripting hole would give away the tokens. The page keeps that
// door shut as well as it can: it has no inline script, loads nothing from
// any other host, and runs under Content-Security-Policy: default-src
// 'self'. A token gives its bearer one shopper's place in one sale, and the
// sale's own tokens end after 24 hours.

const tokenPrefix = "flashsale.token.";
const followed = "flashsale.user";

// Storage that the browser refuses (some private modes, or storage turned
// off) throws; the page then keeps tokens for as long as it is open.
const memory = new Map();

function read(store, key) {
  try {
    return store().getItem(key);
  } catch {
    return memory.get(key) ?? null;
  }
}

function write(store, key, value) {
  try {
    if (value === null) {
      store().removeItem(key);
    } else {
      store().setItem(key, value);
    }
  } catch {
    if (value === null) {
      memory.delete(key);
    } else {
      memory.set(key, value);
    }
  }
}

const local = () => localStorage;
const session = () => sessionStorage;

// tokenOf is user's token in this browser, or "".
export function tokenOf(user) {
  return read(local, tokenPrefix + user) || "";
}

// keep stores token as user's, for every tab of this browser.
export function keep(user, token) {
  write(local, tokenPrefix + user, token);
}

// forget drops user's token: the shop no longer takes it.
export function forget(user) {
  write(local, tokenPrefix + user, null);
}

// remember notes that this tab follows user. A reload of the tab follows
// the tab's own name, and a new tab the name this browser used last.
export function remember(user) {
  write(session, followed, user);
  write(local, followed, user);
}

// recall is the name remember noted for this tab, else for this browser,
// or "" when none has a token here any more.
export function recall() {
  for (const name of [read(session, followed), read(local, followed)]) {
    if (name && tokenOf(name)) {
      return name;
    }
  }
  return "";
}
