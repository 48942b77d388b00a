// The shop's own tokens (flashsale --shopper-jwt-keys): the shop's login
// sends the shopper here as /#token=<jwt>. See the top of app.js.

// takeShopToken takes a token from the URL fragment and clears the fragment
// at once. It returns null when the address has none, or { token, user }
// with user the token's sub ("" when the token names no one).
export function takeShopToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token === null) {
    return null;
  }
  // replaceState, not location.hash = "": the address with the token
  // leaves the history instead of staying one step back in it.
  params.delete("token");
  const rest = params.toString();
  history.replaceState(history.state, "", location.pathname + location.search + (rest ? "#" + rest : ""));
  return { token, user: subjectOf(token) };
}

// subjectOf reads a JWT's sub without checking its signature: the page only
// needs to know whose token it is, and the shop's server, which checks
// every request's token, is the one that decides whether it is good.
export function subjectOf(jwt) {
  const parts = jwt.split(".");
  if (parts.length !== 3) {
    return "";
  }
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
    return typeof claims?.sub === "string" ? claims.sub : "";
  } catch {
    return "";
  }
}
