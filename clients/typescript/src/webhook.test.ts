// The server's webhooks, checked by another implementation of Standard
// Webhooks 1.0: the `standardwebhooks` npm library, as a shop would use
// it. This test is the shop's endpoint (node:http, on 127.0.0.1), plays a
// small sale through the typed client, and then verifies every call it was
// sent with `new Webhook(secret).verify(body, headers)`, under the secret
// of the server's --webhook-secret-file, and under each of the two alone
// during a rotation (each call is signed by both). It reads every body as
// the document's `WebhookEvent`, told apart by `type` without a cast, and
// checks that each says what the API says. Then it checks that the library
// is not a rubber stamp: a body changed by one byte, a timestamp ten
// minutes old (or ahead), a wrong secret and a missing signature are all
// refused. The endpoint refuses the first call once (503): it comes again
// with the same webhook-id and body, signed anew.
//
// It needs a server with no sale going on, started with
// --webhook-url http://127.0.0.1:PORT/hooks and the secret file, its admin
// token, the port to listen on, and the secret (and, during a rotation,
// the old one too):
//
//	FLASHSALE_URL=http://127.0.0.1:8080 FLASHSALE_ADMIN_TOKEN=dev-token \
//	FLASHSALE_WEBHOOK_PORT=8090 FLASHSALE_WEBHOOK_SECRET=whsec_... npm run test:webhook
//
// `make test` starts one and runs this (cmd/flashsale/typescript_webhook_test.go).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Webhook } from "standardwebhooks";
import { bearer, connect, shopperClient, type Reservation, type Shopper, type Status, type UserState } from "./client.js";
import type { components } from "./generated/schema.js";
import { shown, where } from "./testing.js";

type WebhookEvent = components["schemas"]["WebhookEvent"];
type UserEventType = components["schemas"]["WebhookUserEvent"]["type"];
type SaleEventType = components["schemas"]["WebhookSaleEvent"]["type"];

const baseUrl = process.env["FLASHSALE_URL"];
const adminToken = process.env["FLASHSALE_ADMIN_TOKEN"];
const port = Number(process.env["FLASHSALE_WEBHOOK_PORT"]);
const secret = process.env["FLASHSALE_WEBHOOK_SECRET"];
/** The old secret, during a rotation: the file holds both. */
const oldSecret = process.env["FLASHSALE_WEBHOOK_OLD_SECRET"];
if (baseUrl === undefined || adminToken === undefined || !Number.isInteger(port) || port <= 0 || secret === undefined) {
  throw new Error("set FLASHSALE_URL, FLASHSALE_ADMIN_TOKEN, FLASHSALE_WEBHOOK_PORT and FLASHSALE_WEBHOOK_SECRET (and FLASHSALE_WEBHOOK_OLD_SECRET during a rotation)");
}
const secrets = oldSecret === undefined ? [secret] : [secret, oldSecret];
const api = connect(baseUrl);
const admin = bearer(adminToken);

/** One call the endpoint was sent: the raw body, and the three headers. */
interface Call {
  body: Buffer;
  headers: { "webhook-id": string; "webhook-timestamp": string; "webhook-signature": string };
}

/** header is the one value of a request's header name, or fails. */
function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  if (typeof v !== "string") assert.fail(`${req.method ?? "?"} ${req.url ?? "?"}: header ${name} is ${JSON.stringify(v)}`);
  return v;
}

// The types of the document, each listed once: a type the document adds
// and this test does not know fails to compile here.
const userEventTypes: Record<UserEventType, true> = {
  "user.queued": true, "user.joined": true, "user.granted": true, "user.promoted": true,
  "user.confirmed": true, "user.cancelled": true, "user.expired": true, "user.left": true,
};
const saleEventTypes: Record<SaleEventType, true> = {
  "sale.reset": true, "sale.initialized": true, "sale.drawn": true, "sale.closed": true,
};
const isUserEventType = (t: string): t is UserEventType => Object.hasOwn(userEventTypes, t);
const isSaleEventType = (t: string): t is SaleEventType => Object.hasOwn(saleEventTypes, t);

// The body is read member by member into the document's types, and then
// compared with the JSON as sent: a member the document does not have, or
// one of another type, fails; nothing is cast.

type Members = Map<string, unknown>;

function members(v: unknown, what: string): Members {
  if (typeof v !== "object" || v === null || Array.isArray(v)) assert.fail(`${what} is not an object: ${JSON.stringify(v)}`);
  return new Map<string, unknown>(Object.entries(v));
}

function text(m: Members, key: string): string {
  const v = m.get(key);
  if (typeof v !== "string") assert.fail(`${key} is not a string: ${JSON.stringify(v)}`);
  return v;
}

function integer(m: Members, key: string): number {
  const v = m.get(key);
  if (typeof v !== "number" || !Number.isInteger(v)) assert.fail(`${key} is not an integer: ${JSON.stringify(v)}`);
  return v;
}

function time(m: Members, key: string): string {
  const v = text(m, key);
  assert.ok(!Number.isNaN(Date.parse(v)), `${key} is not a date-time: ${v}`);
  return v;
}

/** optional is { [key]: read(m, key) } when m has key, else nothing. */
function optional<K extends string, T>(m: Members, key: K, read: (m: Members, key: string) => T): Partial<Record<K, T>> {
  if (!m.has(key)) return {};
  const out: Partial<Record<K, T>> = {};
  out[key] = read(m, key);
  return out;
}

function reservationOf(v: unknown): Reservation {
  const m = members(v, "reservation");
  const status = text(m, "status");
  switch (status) {
    case "held":
    case "confirmed":
    case "expired":
    case "cancelled":
      return {
        reservation_id: text(m, "reservation_id"), user_id: text(m, "user_id"), status,
        expires_at: time(m, "expires_at"), created_at: time(m, "created_at"),
      };
  }
  assert.fail(`a reservation's status is ${status}`);
}

function userStateOf(v: unknown): UserState {
  const m = members(v, "a user's state");
  const userId = text(m, "user_id");
  const state = text(m, "state");
  switch (state) {
    case "none": {
      const r = m.get("reservation");
      return r === undefined ? { user_id: userId, state } : { user_id: userId, state, reservation: reservationOf(r) };
    }
    case "queued":
      return { user_id: userId, state, opens_at: time(m, "opens_at"), draw_commitment: text(m, "draw_commitment") };
    case "waiting": {
      const wait = m.get("estimated_wait_seconds");
      return {
        user_id: userId, state, waitlist_position: integer(m, "waitlist_position"),
        estimated_wait_seconds: wait === null ? null : integer(m, "estimated_wait_seconds"),
      };
    }
    case "held":
    case "confirmed":
      return { user_id: userId, state, reservation: reservationOf(m.get("reservation")) };
  }
  assert.fail(`a user's state is ${state}`);
}

function phaseOf(m: Members): Partial<Pick<Status, "phase">> {
  if (!m.has("phase")) return {};
  const phase = text(m, "phase");
  switch (phase) {
    case "scheduled":
    case "open":
    case "closed":
      return { phase };
  }
  assert.fail(`the sale's phase is ${phase}`);
}

function statusOf(v: unknown): Status {
  const m = members(v, "the sale's status");
  const initialized = m.get("initialized");
  if (typeof initialized !== "boolean") assert.fail(`initialized is ${JSON.stringify(initialized)}`);
  return {
    initialized,
    total_inventory: integer(m, "total_inventory"),
    available: integer(m, "available"),
    held: integer(m, "held"),
    confirmed: integer(m, "confirmed"),
    waitlist_size: integer(m, "waitlist_size"),
    prequeue_size: integer(m, "prequeue_size"),
    ...phaseOf(m),
    ...optional(m, "opens_at", time),
    ...optional(m, "closes_at", time),
    ...optional(m, "draw_commitment", text),
    ...optional(m, "draw_seed", text),
  };
}

/** webhookEvent reads a verified body as the document's WebhookEvent. */
function webhookEvent(payload: unknown): WebhookEvent {
  const m = members(payload, "the body");
  const type = text(m, "type");
  const timestamp = time(m, "timestamp");
  let event: WebhookEvent;
  if (isUserEventType(type)) event = { type, timestamp, data: userStateOf(m.get("data")) };
  else if (isSaleEventType(type)) event = { type, timestamp, data: statusOf(m.get("data")) };
  else assert.fail(`a webhook of type ${type}`);
  // Nothing more, nothing else: the body is exactly this WebhookEvent.
  assert.deepEqual(event, payload);
  return event;
}

/**
 * about is whom an event is about: the user (user.*) or the sale
 * (sale.*). Every type is handled, each narrowed to its own data.
 */
function about(e: WebhookEvent): string {
  switch (e.type) {
    case "user.queued":
    case "user.joined":
    case "user.granted":
    case "user.promoted":
    case "user.confirmed":
    case "user.cancelled":
    case "user.expired":
    case "user.left":
      return e.data.user_id;
    case "sale.reset":
    case "sale.initialized":
    case "sale.drawn":
    case "sale.closed":
      return "the sale";
  }
}

/** The webhook-id: msg_, the sale's epoch, _, and the event's number. */
const idPattern = /^msg_([0-9a-f]+)_([0-9]+)$/;

function seqOf(id: string): { epoch: string; seq: number } {
  const m = idPattern.exec(id);
  if (m?.[1] === undefined || m[2] === undefined) assert.fail(`webhook-id ${id} is not msg_<epoch>_<seq>`);
  return { epoch: m[1], seq: Number(m[2]) };
}

/** until waits, up to ms, for ok to hold; then fails with what. */
async function until(ok: () => boolean, what: () => string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`after ${ms} ms: ${what()}`);
    await sleep(20);
  }
}

/** A secret no server knows. */
const stranger = `whsec_${randomBytes(32).toString("base64")}`;

await test("the server's webhooks, verified by the standardwebhooks library", async (t) => {
  // The endpoint: every call is kept; the first is answered 503 once.
  const delivered: Call[] = [];
  const refused: Call[] = [];
  const failures: unknown[] = [];
  const endpoint = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      try {
        assert.equal(req.method, "POST");
        assert.equal(req.url, "/hooks");
        assert.match(header(req, "content-type"), /^application\/json\b/);
        const call: Call = {
          body: Buffer.concat(chunks),
          headers: {
            "webhook-id": header(req, "webhook-id"),
            "webhook-timestamp": header(req, "webhook-timestamp"),
            "webhook-signature": header(req, "webhook-signature"),
          },
        };
        const first = delivered.length === 0 && refused.length === 0;
        (first ? refused : delivered).push(call);
        res.writeHead(first ? 503 : 204).end();
      } catch (err) {
        // Kept to fail the test; the server retries meanwhile.
        failures.push(err);
        res.writeHead(400).end();
      }
    });
  });
  endpoint.listen(port, "127.0.0.1");
  await once(endpoint, "listening");
  t.after(() => { endpoint.close(); });

  // The sale: two units, three shoppers; one buys, one cancels, and the
  // third is promoted from the line.
  const started = Date.now();
  const init = await api.POST("/initialize", { body: { total_inventory: 2, reset: true }, headers: admin });
  if (init.data === undefined) assert.fail(shown(init));
  const initialized = init.data;
  const shoppers = new Map<string, Shopper>();
  const holds = new Map<string, string>();
  for (const id of ["alice", "bob", "carol"]) {
    const s = shopperClient(baseUrl);
    shoppers.set(id, s);
    const r = await s.api.POST("/reserve", { body: { user_id: id } });
    if (r.data === undefined) assert.fail(shown(r));
    if (r.data.status === "held") holds.set(id, r.data.reservation_id);
  }
  const shopper = (id: string): Shopper => shoppers.get(id) ?? assert.fail(`no shopper ${id}`);
  const hold = (id: string) => ({ params: { path: { reservation_id: holds.get(id) ?? assert.fail(`${id} has no hold`) } } });
  const confirmed = await shopper("alice").api.POST("/reservations/{reservation_id}/confirm", hold("alice"));
  assert.equal(confirmed.data?.status, "confirmed", shown(confirmed));
  const cancelled = await shopper("bob").api.POST("/reservations/{reservation_id}/cancel", hold("bob"));
  assert.equal(cancelled.data?.status, "cancelled", shown(cancelled));

  // Where each stands now, as the API says.
  const now = new Map<string, UserState>();
  for (const id of shoppers.keys()) {
    const r = await shopper(id).api.GET("/users/{user_id}", { params: { path: { user_id: id } } });
    if (r.data === undefined) assert.fail(shown(r));
    now.set(id, r.data);
  }
  assert.equal(now.get("carol")?.state, "held", "carol is promoted when bob cancels");

  // The calls come in order: the last is carol's promotion.
  const verifier = new Webhook(secret);
  const events = (): WebhookEvent[] => delivered.map((c) => webhookEvent(verifier.verify(c.body, c.headers)));
  await until(
    () => failures.length > 0 || delivered.some((c) => c.body.includes('"type":"user.promoted"')),
    () => `no user.promoted among ${delivered.length} calls: ${delivered.map((c) => c.body.toString("utf8")).join("\n")}`,
  );
  assert.deepEqual(failures, [], "every call is a POST of JSON to /hooks with the three headers");

  await t.test("every call verifies under the secret, and under each secret of a rotation alone", () => {
    assert.ok(delivered.length >= 7, `${delivered.length} calls`);
    for (const [i, s] of secrets.entries()) {
      const wh = new Webhook(s);
      const which = i === 0 ? "the secret" : "the old secret";
      for (const c of [...refused, ...delivered]) {
        let payload: unknown;
        assert.doesNotThrow(() => { payload = wh.verify(c.body, c.headers); }, `${c.headers["webhook-id"]} under ${which}`);
        assert.deepEqual(payload, JSON.parse(c.body.toString("utf8")));
        // The library's own signature of the call is among those sent.
        const ts = new Date(Number(c.headers["webhook-timestamp"]) * 1000);
        assert.ok(c.headers["webhook-signature"].split(" ").includes(wh.sign(c.headers["webhook-id"], ts, c.body)));
      }
    }
    for (const c of delivered) {
      const signatures = c.headers["webhook-signature"].split(" ");
      assert.equal(signatures.length, secrets.length, `one signature per secret: ${c.headers["webhook-signature"]}`);
      for (const sig of signatures) assert.match(sig, /^v1,[A-Za-z0-9+/]{43}=$/);
    }
  });

  await t.test("the ids are msg_<epoch>_<seq>, unique and in the sale's order; a refused call comes again the same", () => {
    const ids = delivered.map((c) => seqOf(c.headers["webhook-id"]));
    assert.equal(new Set(delivered.map((c) => c.headers["webhook-id"])).size, delivered.length, "no id twice");
    for (const [i, id] of ids.entries()) {
      assert.equal(id.epoch, ids[0]?.epoch, "one epoch");
      if (i > 0) assert.ok(id.seq > (ids[i - 1]?.seq ?? 0), `seq ${id.seq} after ${ids[i - 1]?.seq ?? 0}`);
    }
    // The 503: the same event again, same id and body, signed anew.
    const [no, again] = [refused[0], delivered[0]];
    if (no === undefined || again === undefined) assert.fail("no refused call");
    assert.equal(again.headers["webhook-id"], no.headers["webhook-id"]);
    assert.deepEqual(again.body, no.body);
    assert.ok(Number(again.headers["webhook-timestamp"]) >= Number(no.headers["webhook-timestamp"]));
    // The timestamp is the call's: now, not the event's.
    for (const c of delivered) {
      const sent = Number(c.headers["webhook-timestamp"]) * 1000;
      assert.ok(sent >= started - 1000 && sent <= Date.now() + 1000, `webhook-timestamp ${c.headers["webhook-timestamp"]}`);
    }
  });

  await t.test("the bodies are WebhookEvents, and say what the API says", (t) => {
    const seen = events();
    t.diagnostic(seen.map((e, i) => `${delivered[i]?.headers["webhook-id"] ?? "?"} ${e.type} (${about(e)})`).join(", "));
    const types = new Set(seen.map((e) => e.type));
    const wanted: WebhookEvent["type"][] = ["sale.initialized", "user.granted", "user.joined", "user.confirmed", "user.cancelled", "user.promoted"];
    for (const want of wanted) {
      assert.ok(types.has(want), `no ${want} among ${[...types].join(", ")}`);
    }
    // Each user's events, in order, and the last one's state is the API's.
    const byUser = new Map<string, string[]>();
    const last = new Map<string, UserState>();
    let sale: Status | undefined;
    for (const e of seen) {
      if (Date.parse(e.timestamp) < started - 1000) assert.fail(`${e.type} at ${e.timestamp}, before the test`);
      switch (e.type) {
        case "sale.reset":
        case "sale.initialized":
        case "sale.drawn":
        case "sale.closed":
          assert.equal(byUser.size, 0, `${e.type} after the users' events`);
          sale = e.data;
          break;
        default:
          byUser.set(e.data.user_id, [...(byUser.get(e.data.user_id) ?? []), e.type]);
          last.set(e.data.user_id, e.data);
      }
    }
    assert.deepEqual(Object.fromEntries(byUser), {
      alice: ["user.granted", "user.confirmed"],
      bob: ["user.granted", "user.cancelled"],
      carol: ["user.joined", "user.promoted"],
    });
    for (const [id, state] of now) {
      assert.deepEqual(last.get(id), state, `${id}: the webhook's data is GET /users/${id}'s (${where(state)})`);
    }
    assert.deepEqual(sale, initialized, "sale.initialized carries the status initialize answered");
  });

  await t.test("the library refuses a changed body, an old or future timestamp, a wrong secret, no signature", () => {
    const c = delivered.at(-1) ?? assert.fail("no call");
    const wh = new Webhook(secret);
    const refusedAs = (message: RegExp) => ({ name: "WebhookVerificationError", message });
    const noMatch = refusedAs(/No matching signature/);

    // One byte changed, wherever it is.
    for (const at of [0, Math.floor(c.body.length / 2), c.body.length - 1]) {
      const tampered = Buffer.from(c.body);
      tampered[at] = (tampered[at] ?? 0) ^ 0x01;
      assert.throws(() => wh.verify(tampered, c.headers), noMatch, `byte ${at} changed`);
    }
    // The same JSON in other bytes: what is signed is the body as sent.
    const parsed: unknown = JSON.parse(c.body.toString("utf8"));
    assert.throws(() => wh.verify(JSON.stringify(parsed, null, 2), c.headers), noMatch);
    assert.throws(() => wh.verify(Buffer.concat([c.body, Buffer.from("\n")]), c.headers), noMatch);
    // Another message's id, or a second later: the signature is of all three.
    const other = delivered.at(-2) ?? assert.fail("one call only");
    assert.throws(() => wh.verify(c.body, { ...c.headers, "webhook-id": other.headers["webhook-id"] }), noMatch);
    const ts = Number(c.headers["webhook-timestamp"]);
    assert.throws(() => wh.verify(c.body, { ...c.headers, "webhook-timestamp": String(ts + 1) }), noMatch);

    // Ten minutes old or ahead: refused for its age, even signed right.
    for (const [minutes, why] of [[-10, /too old/], [10, /too new/]] as const) {
      const moved = ts + minutes * 60;
      assert.throws(() => wh.verify(c.body, { ...c.headers, "webhook-timestamp": String(moved) }), refusedAs(why));
      const resigned = wh.sign(c.headers["webhook-id"], new Date(moved * 1000), c.body);
      assert.throws(() => wh.verify(c.body, { ...c.headers, "webhook-timestamp": String(moved), "webhook-signature": resigned }), refusedAs(why));
    }

    // A secret the server does not have; no signature; only another scheme's.
    assert.throws(() => new Webhook(stranger).verify(c.body, c.headers), noMatch);
    assert.throws(() => wh.verify(c.body, { ...c.headers, "webhook-signature": "" }), refusedAs(/Missing required headers/));
    const v2 = c.headers["webhook-signature"].replaceAll("v1,", "v2,");
    assert.throws(() => wh.verify(c.body, { ...c.headers, "webhook-signature": v2 }), noMatch);
  });

  await t.test("GET /webhooks: the endpoint caught up with the last event, with no dead letter", async () => {
    const url = `http://127.0.0.1:${port}/hooks`;
    const lastSent = seqOf(delivered.at(-1)?.headers["webhook-id"] ?? assert.fail("no call")).seq;
    let seen = "";
    const caughtUp = async (): Promise<boolean> => {
      const r = await api.GET("/webhooks", { headers: admin });
      if (r.data === undefined) assert.fail(shown(r));
      seen = JSON.stringify(r.data);
      const e = r.data.endpoints.find((x) => x.url === url) ?? assert.fail(`${url} is not among ${seen}`);
      assert.equal(e.dead_letters, 0, seen);
      assert.equal(r.data.newest_event, lastSent, `the last event committed is the last sent: ${seen}`);
      return e.lag === 0 && e.cursor === lastSent;
    };
    // The cursor is recorded a moment after the answer.
    const deadline = Date.now() + 5000;
    while (!(await caughtUp())) {
      if (Date.now() > deadline) assert.fail(`not caught up: ${seen}`);
      await sleep(50);
    }
  });
});
