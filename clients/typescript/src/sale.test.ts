// The contract test of the TypeScript client: a whole sale played against
// a real server, written as a storefront would write it. Every answer is
// read through the types generated from api/openapi.yaml, with no cast and
// no `any` (eslint refuses both): a hold and a place in line are told
// apart by `status`, a user's state by `state`, a problem by `type`. If
// the document stops describing what the server sends, this fails to
// compile or fails here.
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
import { adminHeaders, connect, retryAfterSeconds, type UserState } from "./client.js";

const baseUrl = process.env["FLASHSALE_URL"];
const adminToken = process.env["FLASHSALE_ADMIN_TOKEN"];
if (baseUrl === undefined || adminToken === undefined) {
  throw new Error("set FLASHSALE_URL and FLASHSALE_ADMIN_TOKEN to the server to test and its admin token");
}
const api = connect(baseUrl);
const admin = adminHeaders(adminToken);

/** where says where a user stands, in words: every state is handled. */
function where(u: UserState): string {
  switch (u.state) {
    case "none":
      return u.reservation === undefined ? "nothing" : `nothing (last hold ${u.reservation.status})`;
    case "waiting":
      return `place ${u.waitlist_position}, about ${u.estimated_wait_seconds ?? "?"} s`;
    case "held":
      return `a hold until ${u.reservation.expires_at}`;
    case "confirmed":
      return `bought ${u.reservation.reservation_id}`;
  }
}

/** shown is an answer in a failure message. */
function shown(r: { response: Response; data?: unknown; error?: unknown }): string {
  return `${r.response.status} ${JSON.stringify(r.error ?? r.data)}`;
}

async function user(id: string): Promise<UserState> {
  const r = await api.GET("/users/{user_id}", { params: { path: { user_id: id } } });
  if (r.data === undefined) assert.fail(`GET /users/${id}: ${shown(r)}`);
  return r.data;
}

await test("a whole sale, through the typed client", async (t) => {
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
      initialized: true, total_inventory: 2, available: 2, held: 0, confirmed: 0, waitlist_size: 0,
    });
  });

  // The two holds, each told from a place in line by its status. The key
  // is new for each run: a key names one attempt, and the server keeps its
  // answer for a day, across a reset too.
  const key = randomUUID();
  const alice = await api.POST("/reserve", { body: { user_id: "alice" } });
  const bob = await api.POST("/reserve", { body: { user_id: "bob" }, params: { header: { "Idempotency-Key": key } } });

  await t.test("two shoppers get holds", () => {
    for (const r of [alice, bob]) {
      if (r.data?.status !== "held") assert.fail(shown(r));
      assert.equal(r.response.status, 201);
      assert.equal(r.response.headers.get("Location"), `/reservations/${r.data.reservation_id}`);
      assert.ok(Date.parse(r.data.expires_at) > Date.now(), r.data.expires_at);
    }
  });

  await t.test("a retry with the same Idempotency-Key gets the same hold", async () => {
    const again = await api.POST("/reserve", { body: { user_id: "bob" }, params: { header: { "Idempotency-Key": key } } });
    if (again.data?.status !== "held" || bob.data?.status !== "held") assert.fail(shown(again));
    assert.equal(again.data.reservation_id, bob.data.reservation_id);
    assert.equal(again.response.headers.get("Idempotency-Replayed"), "true");
  });

  await t.test("the third shopper gets a place in line", async () => {
    const r = await api.POST("/reserve", { body: { user_id: "carol" } });
    if (r.data?.status !== "waiting") assert.fail(shown(r));
    assert.equal(r.response.status, 202);
    assert.equal(r.data.waitlist_position, 1);
    assert.equal(r.response.headers.get("Location"), "/users/carol");

    const carol = await user("carol");
    if (carol.state !== "waiting") assert.fail(where(carol));
    assert.equal(carol.waitlist_position, 1);
    // null until a unit has reached the line: a number or null, never absent.
    assert.ok(carol.estimated_wait_seconds === null || carol.estimated_wait_seconds >= 0, where(carol));
  });

  await t.test("alice confirms; a second reserve is a typed 409 naming her purchase", async () => {
    if (alice.data?.status !== "held") assert.fail(shown(alice));
    const id = alice.data.reservation_id;
    const confirmed = await api.POST("/reservations/{reservation_id}/confirm", { params: { path: { reservation_id: id } } });
    assert.equal(confirmed.data?.status, "confirmed", shown(confirmed));

    const again = await api.POST("/reserve", { body: { user_id: "alice" } });
    if (again.error?.type !== "/problems/already-reserved") assert.fail(shown(again));
    assert.equal(again.response.status, 409);
    assert.equal(again.error.reservation_id, id);
    assert.equal(again.error.reservation_status, "confirmed");

    const cancel = await api.POST("/reservations/{reservation_id}/cancel", { params: { path: { reservation_id: id } } });
    assert.equal(cancel.error?.type, "/problems/already-confirmed", shown(cancel));
  });

  await t.test("bob cancels, and carol is promoted to a hold", async () => {
    if (bob.data?.status !== "held") assert.fail(shown(bob));
    const r = await api.POST("/reservations/{reservation_id}/cancel", { params: { path: { reservation_id: bob.data.reservation_id } } });
    assert.equal(r.data?.status, "cancelled", shown(r));

    const carol = await user("carol");
    if (carol.state !== "held") assert.fail(where(carol));
    assert.equal(carol.reservation.status, "held");
    assert.equal(carol.reservation.user_id, "carol");

    const was = await user("bob");
    if (was.state !== "none") assert.fail(where(was));
    assert.equal(was.reservation?.status, "cancelled");

    const status = await api.GET("/status");
    assert.deepEqual(status.data, {
      initialized: true, total_inventory: 2, available: 0, held: 1, confirmed: 1, waitlist_size: 0,
    });
  });

  await t.test("a shopper leaves the line", async () => {
    const r = await api.POST("/reserve", { body: { user_id: "dave" } });
    assert.equal(r.data?.status, "waiting", shown(r));
    const left = await api.DELETE("/waitlist/{user_id}", { params: { path: { user_id: "dave" } } });
    assert.equal(left.response.status, 204, shown(left));
    assert.equal((await user("dave")).state, "none");
    const again = await api.DELETE("/waitlist/{user_id}", { params: { path: { user_id: "dave" } } });
    assert.equal(again.error?.type, "/problems/not-waiting", shown(again));
  });

  await t.test("too many attempts are a typed 429 with Retry-After", async () => {
    // The server's default limit is 5 a second with a burst of 10: a
    // shopper hammering reserve is refused within a few more.
    for (let i = 0; i < 50; i++) {
      const r = await api.POST("/reserve", { body: { user_id: "erin" } });
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
    const erin = await user("erin");
    assert.equal(erin.state, "held", where(erin));
  });

  await t.test("healthz still answers ok", async () => {
    const r = await api.GET("/healthz");
    assert.equal(r.data?.status, "ok", shown(r));
  });
});
