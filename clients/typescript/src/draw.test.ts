// A scheduled sale through the typed client, and its draw recomputed in a
// second language: a real server schedules a sale a few seconds ahead,
// shoppers join its pre-queue (202 `status: queued`, with the opening and
// the draw's commitment), and at the opening this test checks what any
// shopper can: that the revealed seed is the one committed to (its SHA-256,
// by node:crypto), and that everyone's place is the one the documented
// function gives, the entrants sorted by HMAC-SHA256(seed, user id)
// (node:crypto's createHmac), computed here apart from the server's Go.
// Then the close: the line is told, a reserve is a typed `sale-closed`, and
// a hold given before the close is still confirmed after it.
//
// The server's clock is the real one, so the test waits for the opening
// and the close (about five seconds). It needs a server whose sale it may
// restart, and its admin token:
//
//	FLASHSALE_URL=http://127.0.0.1:8080 FLASHSALE_ADMIN_TOKEN=dev-token npm run test:draw
//
// `make test` starts one and runs this (cmd/flashsale/typescript_test.go).
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { bearer, connect, shopperClient, type Shopper, type Status, type UserState } from "./client.js";
import { shown, stateIn, streamEvents, where } from "./testing.js";

const baseUrl = process.env["FLASHSALE_URL"];
const adminToken = process.env["FLASHSALE_ADMIN_TOKEN"];
if (baseUrl === undefined || adminToken === undefined) {
  throw new Error("set FLASHSALE_URL and FLASHSALE_ADMIN_TOKEN to the server to test and its admin token");
}
const api = connect(baseUrl);
const admin = bearer(adminToken);

/** How far ahead the sale opens, and how long it stays open. */
const leadMs = 3000;
const openMs = 2000;
const units = 2;

async function user(s: Shopper, id: string): Promise<UserState> {
  const r = await s.api.GET("/users/{user_id}", { params: { path: { user_id: id } } });
  if (r.data === undefined) assert.fail(`GET /users/${id}: ${shown(r)}`);
  return r.data;
}

/**
 * statusAt reads GET /status once `at` has passed (this machine's clock,
 * which is the server's), until its phase is `phase`: the read itself
 * makes what fell due (the server's sweeper does too, within a second).
 */
async function statusAt(at: number, phase: Status["phase"]): Promise<Status> {
  await sleep(Math.max(0, at - Date.now()));
  const deadline = Date.now() + 5000;
  for (;;) {
    const r = await api.GET("/status");
    if (r.data === undefined) assert.fail(shown(r));
    if (r.data.phase === phase || Date.now() > deadline) return r.data;
    await sleep(50);
  }
}

/** drawKey is a user's key in the draw made with seed: HMAC-SHA256(seed, user id). */
function drawKey(seed: Buffer, id: string): Buffer {
  return createHmac("sha256", seed).update(id, "utf8").digest();
}

/**
 * drawOrder is the documented order of a draw: the entrants sorted by
 * their keys as big-endian numbers, smallest first, ties by id.
 */
function drawOrder(seedHex: string, entrants: string[]): string[] {
  const seed = Buffer.from(seedHex, "hex");
  return entrants
    .map((id) => ({ id, key: drawKey(seed, id) }))
    .sort((a, b) => Buffer.compare(a.key, b.key) || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)))
    .map((e) => e.id);
}

await test("a scheduled sale: the pre-queue, a draw anyone can check, and the close", async (t) => {
  const opensAt = new Date(Date.now() + leadMs).toISOString();
  const closesAt = new Date(Date.parse(opensAt) + openMs).toISOString();
  let commitment = "";

  await t.test("initialize schedules the sale and publishes the draw's commitment", async () => {
    const r = await api.POST("/initialize", {
      body: { total_inventory: units, reset: true, opens_at: opensAt, closes_at: closesAt },
      headers: admin,
    });
    if (r.data === undefined) assert.fail(shown(r));
    assert.equal(r.data.phase, "scheduled");
    assert.equal(Date.parse(r.data.opens_at ?? ""), Date.parse(opensAt));
    assert.equal(Date.parse(r.data.closes_at ?? ""), Date.parse(closesAt));
    assert.equal(r.data.prequeue_size, 0);
    assert.equal(r.data.available, units);
    assert.equal(r.data.draw_seed, undefined, "the seed is secret until the opening");
    assert.match(r.data.draw_commitment ?? "", /^[0-9a-f]{64}$/);
    commitment = r.data.draw_commitment ?? "";
  });

  // In alphabetical order, which the draw must owe nothing to.
  const names = ["ana", "ben", "cy", "dee", "eve"];
  const shoppers = new Map(names.map((n) => [n, shopperClient(baseUrl)]));
  const shopper = (id: string): Shopper => shoppers.get(id) ?? assert.fail(`no shopper ${id}`);

  await t.test("before the opening, a reserve joins the pre-queue: no place, the time of the draw and its commitment", async () => {
    for (const id of names) {
      const s = shopper(id);
      const r = await s.api.POST("/reserve", { body: { user_id: id } });
      if (r.data?.status !== "queued") assert.fail(shown(r));
      assert.equal(r.response.status, 202);
      assert.equal(r.response.headers.get("Location"), `/users/${id}`);
      assert.equal(r.data.user_id, id);
      assert.equal(Date.parse(r.data.opens_at), Date.parse(opensAt));
      assert.equal(r.data.draw_commitment, commitment);
      assert.ok(s.token !== undefined && s.token === r.data.shopper_token, "the client keeps the token");

      const state = await user(s, id);
      if (state.state !== "queued") assert.fail(where(state));
      assert.equal(Date.parse(state.opens_at), Date.parse(opensAt));
      assert.equal(state.draw_commitment, commitment);
    }
    // Asking again changes nothing: still queued, no place.
    const again = await shopper("ana").api.POST("/reserve", { body: { user_id: "ana" } });
    assert.equal(again.data?.status, "queued", shown(again));
  });

  await t.test("a shopper leaves the pre-queue, and is no entrant", async () => {
    const eve = shopper("eve");
    const left = await eve.api.DELETE("/waitlist/{user_id}", { params: { path: { user_id: "eve" } } });
    assert.equal(left.response.status, 204, shown(left));
    assert.equal((await user(eve, "eve")).state, "none");
    shoppers.delete("eve");

    const status = await api.GET("/status");
    if (status.data === undefined) assert.fail(shown(status));
    assert.equal(status.data.phase, "scheduled");
    assert.equal(status.data.prequeue_size, 4);
    assert.equal(status.data.waitlist_size, 0);
  });

  // ana's stream, open across the opening: the draw comes to her as an event.
  const stop = new AbortController();
  const anaStream = await shopper("ana").api.GET("/users/{user_id}/events", {
    params: { path: { user_id: "ana" } }, parseAs: "stream", signal: stop.signal,
  });
  assert.equal(anaStream.response.status, 200);
  const anaEvents = streamEvents(anaStream.response);
  t.after(() => { stop.abort(); });

  let entrants: string[] = [];
  await t.test("the admin exports the entrants, sorted by id", async () => {
    const r = await api.GET("/draw/entrants", { headers: admin, parseAs: "text" });
    if (r.data === undefined) assert.fail(shown(r));
    assert.match(r.response.headers.get("Content-Type") ?? "", /^text\/plain/);
    entrants = r.data.split("\n").filter((line) => line !== "");
    assert.deepEqual(entrants, ["ana", "ben", "cy", "dee"]);
  });

  await t.test("at the opening the seed is revealed, and its SHA-256 is the commitment", async () => {
    const status = await statusAt(Date.parse(opensAt), "open");
    assert.equal(status.phase, "open", JSON.stringify(status));
    const seed = status.draw_seed ?? assert.fail(`no seed after the opening: ${JSON.stringify(status)}`);
    assert.equal(createHash("sha256").update(Buffer.from(seed, "hex")).digest("hex"), commitment);
    assert.equal(status.draw_commitment, commitment, "the commitment stays published");
    assert.equal(status.prequeue_size, 0);
    assert.equal(status.available, 0);
    assert.equal(status.held, units);
    assert.equal(status.waitlist_size, entrants.length - units);
  });

  await t.test("every place is the one HMAC-SHA256(seed, user id) gives, recomputed here", async () => {
    const status = await api.GET("/status");
    const order = drawOrder(status.data?.draw_seed ?? assert.fail(shown(status)), entrants);
    for (const [i, id] of order.entries()) {
      const state = await user(shopper(id), id);
      if (i < units) {
        if (state.state !== "held") assert.fail(`${id}, drawn ${i + 1}: ${where(state)}`);
        // The hold counts from the opening, however late it is read.
        assert.equal(Date.parse(state.reservation.created_at), Date.parse(opensAt), `${id}'s hold`);
      } else {
        if (state.state !== "waiting") assert.fail(`${id}, drawn ${i + 1}: ${where(state)}`);
        assert.equal(state.waitlist_position, i - units + 1, `${id}'s place`);
      }
    }
    // After the draw the export is the same: the entrants it ordered.
    const after = await api.GET("/draw/entrants", { headers: admin, parseAs: "text" });
    assert.deepEqual(after.data?.split("\n").filter((line) => line !== ""), entrants);

    // ana's stream told her: first the pre-queue, then the draw's result.
    const seen: string[] = [];
    for await (const { event, data } of anaEvents) {
      seen.push(`${event} ${stateIn(data) ?? "?"}`);
      if (event === "drawn") break;
    }
    const anaNow = (await user(shopper("ana"), "ana")).state;
    assert.deepEqual(seen, ["state queued", `drawn ${anaNow}`]);
  });

  await t.test("a shopper who comes after the opening goes behind the drawn line", async () => {
    const fay = shopperClient(baseUrl);
    const r = await fay.api.POST("/reserve", { body: { user_id: "fay" } });
    if (r.data?.status !== "waiting") assert.fail(shown(r));
    assert.equal(r.data.waitlist_position, entrants.length - units + 1);
  });

  await t.test("at the close the line is gone, a reserve is a typed sale-closed, and a hold is still confirmed", async () => {
    const status = await statusAt(Date.parse(closesAt), "closed");
    assert.equal(status.phase, "closed", JSON.stringify(status));
    assert.equal(status.waitlist_size, 0);

    const late = await shopperClient(baseUrl).api.POST("/reserve", { body: { user_id: "gus" } });
    assert.equal(late.error?.type, "/problems/sale-closed", shown(late));
    assert.equal(late.response.status, 409);

    const order = drawOrder(status.draw_seed ?? assert.fail(JSON.stringify(status)), entrants);
    for (const [i, id] of order.entries()) {
      const state = await user(shopper(id), id);
      if (i >= units) {
        assert.equal(state.state, "none", `${id}, in line at the close: ${where(state)}`);
        continue;
      }
      if (state.state !== "held") assert.fail(`${id}'s hold after the close: ${where(state)}`);
      const reservation = { params: { path: { reservation_id: state.reservation.reservation_id } } };
      const confirmed = await shopper(id).api.POST("/reservations/{reservation_id}/confirm", reservation);
      assert.equal(confirmed.data?.status, "confirmed", shown(confirmed));
    }
  });
});
