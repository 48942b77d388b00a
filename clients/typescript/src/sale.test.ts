// The contract test of the TypeScript client: a whole sale played against
// a real server that issues its own shopper tokens (its default), written
// as a storefront would write it. Every answer is read through the types
// generated from api/openapi.yaml, with no cast and no `any` (eslint
// refuses both): a hold and a place in line are told apart by `status`, a
// user's state by `state`, a problem by `type`. If the document stops
// describing what the server sends, this fails to compile or fails here.
//
// Each shopper has a client of their own (shopperClient), which keeps the
// `shopper_token` of their first reserve and sends it from then on; the
// other shoppers and a client with no token are the strangers who must be
// refused.
//
// It needs a server with no sale going on (it starts one with reset) and
// its admin token:
//
//	FLASHSALE_URL=http://127.0.0.1:8080 FLASHSALE_ADMIN_TOKEN=dev-token npm test
//
// `make test` starts one and runs this (cmd/flashsale/typescript_test.go).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { bearer, connect, retryAfterSeconds, shopperClient, type Shopper, type UserState } from "./client.js";
import { shown, stateIn, streamEvents, where } from "./testing.js";

const baseUrl = process.env["FLASHSALE_URL"];
const adminToken = process.env["FLASHSALE_ADMIN_TOKEN"];
if (baseUrl === undefined || adminToken === undefined) {
  throw new Error("set FLASHSALE_URL and FLASHSALE_ADMIN_TOKEN to the server to test and its admin token");
}
/** A client with no token: the open calls, and the stranger. */
const api = connect(baseUrl);
const admin = bearer(adminToken);

/** user is where id stands, read by the shopper s (id itself, say). */
async function user(s: Shopper, id: string): Promise<UserState> {
  const r = await s.api.GET("/users/{user_id}", { params: { path: { user_id: id } } });
  if (r.data === undefined) assert.fail(`GET /users/${id}: ${shown(r)}`);
  return r.data;
}

await test("a whole sale, through the typed client, each shopper with their token", async (t) => {
  await t.test("healthz answers ok", async () => {
    const r = await api.GET("/healthz");
    assert.equal(r.data?.status, "ok", shown(r));
  });

  await t.test("initialize without the token is a typed 401", async () => {
    const r = await api.POST("/initialize", { body: { total_inventory: 2 } });
    assert.equal(r.error?.type, "/problems/unauthorized", shown(r));
    assert.match(r.response.headers.get("WWW-Authenticate") ?? "", /^Bearer /);
  });

  await t.test("initialize starts a sale of two units", async () => {
    const r = await api.POST("/initialize", { body: { total_inventory: 2, reset: true }, headers: admin });
    if (r.data === undefined) assert.fail(shown(r));
    assert.deepEqual(r.data, {
      initialized: true, total_inventory: 2, available: 2, held: 0, confirmed: 0, waitlist_size: 0, phase: "open", prequeue_size: 0,
    });
  });

  // The two holds, each told from a place in line by its status. The key
  // is new for each run: a key names one attempt, and the server keeps its
  // answer for a day, across a reset too.
  const key = randomUUID();
  const alice = shopperClient(baseUrl);
  const bob = shopperClient(baseUrl);
  const carol = shopperClient(baseUrl);
  const aliceHold = await alice.api.POST("/reserve", { body: { user_id: "alice" } });
  const bobHold = await bob.api.POST("/reserve", { body: { user_id: "bob" }, params: { header: { "Idempotency-Key": key } } });

  await t.test("two new shoppers get holds, and each the token for what follows", () => {
    for (const { s, r } of [{ s: alice, r: aliceHold }, { s: bob, r: bobHold }]) {
      if (r.data?.status !== "held") assert.fail(shown(r));
      assert.equal(r.response.status, 201);
      assert.equal(r.response.headers.get("Location"), `/reservations/${r.data.reservation_id}`);
      assert.ok(Date.parse(r.data.expires_at) > Date.now(), r.data.expires_at);
      assert.match(r.data.shopper_token ?? "", /^[\w-]+\.[\w-]+\.[\w-]+$/, "a JWT");
      assert.equal(s.token, r.data.shopper_token, "the client keeps the token it was given");
    }
    assert.notEqual(alice.token, bob.token);
  });

  await t.test("a retry with the same Idempotency-Key gets the same hold and the same token", async () => {
    // The app that retries never saw the first answer, so it has no token.
    const retry = shopperClient(baseUrl);
    const again = await retry.api.POST("/reserve", { body: { user_id: "bob" }, params: { header: { "Idempotency-Key": key } } });
    if (again.data?.status !== "held" || bobHold.data?.status !== "held") assert.fail(shown(again));
    assert.equal(again.data.reservation_id, bobHold.data.reservation_id);
    assert.equal(again.data.shopper_token, bob.token);
    assert.equal(again.response.headers.get("Idempotency-Replayed"), "true");
    assert.equal(retry.token, bob.token);
  });

  await t.test("the third shopper gets a place in line, and reads it with her token", async () => {
    const r = await carol.api.POST("/reserve", { body: { user_id: "carol" } });
    if (r.data?.status !== "waiting") assert.fail(shown(r));
    assert.equal(r.response.status, 202);
    assert.equal(r.data.waitlist_position, 1);
    assert.equal(r.response.headers.get("Location"), "/users/carol");
    assert.ok(carol.token !== undefined && carol.token === r.data.shopper_token, shown(r));

    const state = await user(carol, "carol");
    if (state.state !== "waiting") assert.fail(where(state));
    assert.equal(state.waitlist_position, 1);
    // null until a unit has reached the line: a number or null, never absent.
    assert.ok(state.estimated_wait_seconds === null || state.estimated_wait_seconds >= 0, where(state));
  });

  await t.test("a client with no token, or a bad one, is a typed 401 with WWW-Authenticate", async () => {
    const none = await api.GET("/users/{user_id}", { params: { path: { user_id: "alice" } } });
    assert.equal(none.error?.type, "/problems/unauthorized", shown(none));
    assert.equal(none.response.headers.get("WWW-Authenticate"), 'Bearer realm="flashsale"');

    const bad = await api.GET("/users/{user_id}", { params: { path: { user_id: "alice" } }, headers: bearer("not-a-token") });
    assert.equal(bad.error?.type, "/problems/unauthorized", shown(bad));
    assert.equal(bad.response.headers.get("WWW-Authenticate"), 'Bearer realm="flashsale", error="invalid_token"');

    // A shopper the sale knows cannot be had by reserving in her name again:
    // the answer says that her token is needed.
    const reserve = await api.POST("/reserve", { body: { user_id: "alice" } });
    assert.equal(reserve.error?.type, "/problems/token-required", shown(reserve));
    assert.equal(reserve.response.status, 401);
    assert.match(reserve.response.headers.get("WWW-Authenticate") ?? "", /^Bearer /);
  });

  await t.test("carol, first in line, can neither read nor touch alice's hold", async () => {
    if (aliceHold.data?.status !== "held") assert.fail(shown(aliceHold));
    const id = aliceHold.data.reservation_id;
    const path = { params: { path: { user_id: "alice" } } };

    for (const r of [
      await carol.api.GET("/users/{user_id}", path),
      await carol.api.DELETE("/waitlist/{user_id}", path),
      await carol.api.POST("/reserve", { body: { user_id: "alice" } }),
    ]) {
      assert.equal(r.error?.type, "/problems/forbidden", shown(r));
      assert.equal(r.response.status, 403);
    }

    // Her hold is, to carol, a reservation that does not exist: the same
    // answer, but for the id, as an id nobody holds.
    const nobody = await carol.api.GET("/reservations/{reservation_id}", { params: { path: { reservation_id: "AAAAAAAAAAAAAAAAAAAAAA" } } });
    assert.equal(nobody.error?.type, "/problems/reservation-not-found", shown(nobody));
    const reservation = { params: { path: { reservation_id: id } } };
    for (const r of [
      await carol.api.GET("/reservations/{reservation_id}", reservation),
      await carol.api.POST("/reservations/{reservation_id}/confirm", reservation),
      await carol.api.POST("/reservations/{reservation_id}/cancel", reservation),
    ]) {
      assert.equal(r.response.status, 404, shown(r));
      assert.equal(JSON.stringify(r.error).replaceAll(id, "AAAAAAAAAAAAAAAAAAAAAA"), JSON.stringify(nobody.error));
    }

    // And nothing changed: alice still holds her unit, carol still waits.
    const held = await user(alice, "alice");
    if (held.state !== "held") assert.fail(where(held));
    assert.equal(held.reservation.reservation_id, id);
    assert.equal((await user(carol, "carol")).state, "waiting");
  });

  await t.test("a shopper's event stream takes her token; another's is refused", async () => {
    const path = { path: { user_id: "alice" } };
    const none = await api.GET("/users/{user_id}/events", { params: path });
    assert.equal(none.error?.type, "/problems/unauthorized", shown(none));
    const foreign = await carol.api.GET("/users/{user_id}/events", { params: path });
    assert.equal(foreign.error?.type, "/problems/forbidden", shown(foreign));

    const stop = new AbortController();
    const own = await alice.api.GET("/users/{user_id}/events", { params: path, parseAs: "stream", signal: stop.signal });
    try {
      assert.equal(own.response.status, 200);
      assert.match(own.response.headers.get("Content-Type") ?? "", /^text\/event-stream/);
      const first = await streamEvents(own.response).next();
      if (first.done === true) assert.fail("the stream ended before its first event");
      assert.equal(first.value.event, "state");
      assert.equal(stateIn(first.value.data), "held");
    } finally {
      stop.abort();
    }
  });

  await t.test("the admin token reads any shopper, for support", async () => {
    const r = await api.GET("/users/{user_id}", { params: { path: { user_id: "carol" } }, headers: admin });
    assert.equal(r.data?.state, "waiting", shown(r));
  });

  await t.test("alice confirms; a second reserve is a typed 409 naming her purchase", async () => {
    if (aliceHold.data?.status !== "held") assert.fail(shown(aliceHold));
    const id = aliceHold.data.reservation_id;
    const reservation = { params: { path: { reservation_id: id } } };
    const confirmed = await alice.api.POST("/reservations/{reservation_id}/confirm", reservation);
    assert.equal(confirmed.data?.status, "confirmed", shown(confirmed));

    const again = await alice.api.POST("/reserve", { body: { user_id: "alice" } });
    if (again.error?.type !== "/problems/already-reserved") assert.fail(shown(again));
    assert.equal(again.response.status, 409);
    assert.equal(again.error.reservation_id, id);
    assert.equal(again.error.reservation_status, "confirmed");

    const cancel = await alice.api.POST("/reservations/{reservation_id}/cancel", reservation);
    assert.equal(cancel.error?.type, "/problems/already-confirmed", shown(cancel));
  });

  await t.test("bob cancels, and carol is promoted to a hold", async () => {
    if (bobHold.data?.status !== "held") assert.fail(shown(bobHold));
    const r = await bob.api.POST("/reservations/{reservation_id}/cancel", { params: { path: { reservation_id: bobHold.data.reservation_id } } });
    assert.equal(r.data?.status, "cancelled", shown(r));

    const promoted = await user(carol, "carol");
    if (promoted.state !== "held") assert.fail(where(promoted));
    assert.equal(promoted.reservation.status, "held");
    assert.equal(promoted.reservation.user_id, "carol");

    const was = await user(bob, "bob");
    if (was.state !== "none") assert.fail(where(was));
    assert.equal(was.reservation?.status, "cancelled");

    const status = await api.GET("/status");
    assert.deepEqual(status.data, {
      initialized: true, total_inventory: 2, available: 0, held: 1, confirmed: 1, waitlist_size: 0, phase: "open", prequeue_size: 0,
    });
  });

  await t.test("a shopper leaves the line", async () => {
    const dave = shopperClient(baseUrl);
    const r = await dave.api.POST("/reserve", { body: { user_id: "dave" } });
    assert.equal(r.data?.status, "waiting", shown(r));
    const path = { params: { path: { user_id: "dave" } } };
    const left = await dave.api.DELETE("/waitlist/{user_id}", path);
    assert.equal(left.response.status, 204, shown(left));
    assert.equal((await user(dave, "dave")).state, "none");
    const again = await dave.api.DELETE("/waitlist/{user_id}", path);
    assert.equal(again.error?.type, "/problems/not-waiting", shown(again));
  });

  const erin = shopperClient(baseUrl);
  await t.test("too many attempts are a typed 429 with Retry-After", async () => {
    // The server's default limit is 5 a second with a burst of 10: a
    // shopper hammering reserve is refused within a few more.
    for (let i = 0; i < 50; i++) {
      const r = await erin.api.POST("/reserve", { body: { user_id: "erin" } });
      if (r.error === undefined) {
        assert.equal(r.data.status, "waiting", shown(r));
        continue;
      }
      assert.equal(r.error.type, "/problems/rate-limited", shown(r));
      assert.equal(r.response.status, 429);
      assert.ok(retryAfterSeconds(r.response) >= 1);
      return;
    }
    assert.fail("50 reserves in a row were never refused");
  });

  await t.test("stock added to the running sale goes to the line", async () => {
    const r = await api.POST("/initialize", { body: { total_inventory: 3 }, headers: admin });
    assert.equal(r.data?.available, 0, shown(r));
    const state = await user(erin, "erin");
    assert.equal(state.state, "held", where(state));
  });

  await t.test("healthz still answers ok", async () => {
    const r = await api.GET("/healthz");
    assert.equal(r.data?.status, "ok", shown(r));
  });
});
