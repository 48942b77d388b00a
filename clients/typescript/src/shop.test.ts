// Interop: the shop's own shopper tokens (`--shopper-jwt-keys`), made by
// another implementation of JWT than the server's. The shop's login is
// played here by jose: it signs each shopper's token (EdDSA, with the
// private key whose public half the server was started with), and the
// sale is played through the typed client with them. Tokens the server
// must refuse are made with jose too (another audience or issuer, expired,
// not yet valid, no exp, another key, `alg: none`, HS256 keyed with the
// public key file), so that each is a well-formed JWT wrong in one way.
//
// It needs a server started with the shop's public key, and these:
//
//	FLASHSALE_URL, FLASHSALE_ADMIN_TOKEN    the server and its admin token
//	FLASHSALE_SHOP_PRIVATE_KEY              a file: the shop's Ed25519 private key, PKCS#8 PEM
//	FLASHSALE_SHOP_PUBLIC_KEY               the file the server reads with --shopper-jwt-keys
//	FLASHSALE_SHOP_ISSUER, FLASHSALE_SHOP_AUDIENCE  its --shopper-jwt-issuer and --shopper-jwt-audience
//
// cmd/flashsale/typescript_test.go makes the keys, starts the server and
// runs this (`npm run test:shop`).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { generateKeyPair, importPKCS8, SignJWT, UnsecuredJWT, type CryptoKey } from "jose";
import { bearer, connect, shopperClient } from "./client.js";
import { shown, where } from "./testing.js";

function need(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`set ${name}: see the comment at the top of shop.test.ts`);
  }
  return value;
}

const baseUrl = need("FLASHSALE_URL");
const admin = bearer(need("FLASHSALE_ADMIN_TOKEN"));
const issuer = need("FLASHSALE_SHOP_ISSUER");
const audience = need("FLASHSALE_SHOP_AUDIENCE");
const shopKey = await importPKCS8(await readFile(need("FLASHSALE_SHOP_PRIVATE_KEY"), "utf8"), "EdDSA");
const publicKeyFile = await readFile(need("FLASHSALE_SHOP_PUBLIC_KEY"));
const api = connect(baseUrl);

/** What a token is made of, each part changeable to make a bad one. */
interface Claims {
  sub: string;
  iss?: string;
  aud?: string;
  /** Seconds from now (600 if absent); null leaves exp out. */
  expiresIn?: number | null;
  /** Seconds from now. */
  notBefore?: number;
}

/** mint makes the token the shop's login would give, but for what c changes, signed with key by alg. */
async function mint(c: Claims, key: CryptoKey | Uint8Array = shopKey, alg = "EdDSA"): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg, typ: "JWT" })
    .setSubject(c.sub)
    .setIssuer(c.iss ?? issuer)
    .setAudience(c.aud ?? audience)
    .setIssuedAt(now);
  if (c.expiresIn !== null) jwt.setExpirationTime(now + (c.expiresIn ?? 600));
  if (c.notBefore !== undefined) jwt.setNotBefore(now + c.notBefore);
  return jwt.sign(key);
}

await test("a sale played with the shop's tokens, minted by jose", async (t) => {
  await t.test("initialize starts a sale of one unit", async () => {
    const r = await api.POST("/initialize", { body: { total_inventory: 1, reset: true }, headers: admin });
    assert.equal(r.data?.available, 1, shown(r));
  });

  await t.test("with the shop's tokens even a first reserve needs one", async () => {
    const r = await api.POST("/reserve", { body: { user_id: "alice" } });
    assert.equal(r.error?.type, "/problems/unauthorized", shown(r));
    assert.equal(r.response.headers.get("WWW-Authenticate"), 'Bearer realm="flashsale"');
  });

  const aliceToken = await mint({ sub: "alice" });
  const alice = shopperClient(baseUrl, aliceToken);
  const bob = shopperClient(baseUrl, await mint({ sub: "bob" }));
  const aliceHold = await alice.api.POST("/reserve", { body: {} });

  await t.test("a reserve with no user_id is for the token's sub, and gives no token of the sale's", () => {
    if (aliceHold.data?.status !== "held") assert.fail(shown(aliceHold));
    assert.equal(aliceHold.response.status, 201);
    assert.equal(aliceHold.data.user_id, "alice");
    assert.equal(aliceHold.data.shopper_token, undefined);
    assert.equal(alice.token, aliceToken);
  });

  await t.test("a reserve that names the token's sub goes in line", async () => {
    const r = await bob.api.POST("/reserve", { body: { user_id: "bob" } });
    if (r.data?.status !== "waiting") assert.fail(shown(r));
    assert.equal(r.data.waitlist_position, 1);
    assert.equal(r.data.shopper_token, undefined);
  });

  await t.test("bob can neither reserve in alice's name nor touch her hold", async () => {
    if (aliceHold.data?.status !== "held") assert.fail(shown(aliceHold));
    const path = { params: { path: { user_id: "alice" } } };
    for (const r of [
      await bob.api.POST("/reserve", { body: { user_id: "alice" } }),
      await bob.api.GET("/users/{user_id}", path),
      await bob.api.DELETE("/waitlist/{user_id}", path),
    ]) {
      assert.equal(r.error?.type, "/problems/forbidden", shown(r));
      assert.equal(r.response.status, 403);
    }
    const reservation = { params: { path: { reservation_id: aliceHold.data.reservation_id } } };
    for (const r of [
      await bob.api.GET("/reservations/{reservation_id}", reservation),
      await bob.api.POST("/reservations/{reservation_id}/cancel", reservation),
    ]) {
      assert.equal(r.error?.type, "/problems/reservation-not-found", shown(r));
    }
  });

  await t.test("a token for alice that the shop did not give, or not for this sale, is a 401", async () => {
    if (aliceHold.data?.status !== "held") assert.fail(shown(aliceHold));
    const reservation = { params: { path: { reservation_id: aliceHold.data.reservation_id } } };
    const other = await generateKeyPair("EdDSA");
    const forged: Record<string, string> = {
      "another audience": await mint({ sub: "alice", aud: "another-service" }),
      "another issuer": await mint({ sub: "alice", iss: "https://not-the-shop.example" }),
      "expired an hour ago": await mint({ sub: "alice", expiresIn: -3600 }),
      "not valid for another hour": await mint({ sub: "alice", notBefore: 3600 }),
      "no exp": await mint({ sub: "alice", expiresIn: null }),
      "signed by another key": await mint({ sub: "alice" }, other.privateKey),
      "alg none": new UnsecuredJWT({}).setSubject("alice").setIssuer(issuer).setAudience(audience)
        .setIssuedAt().setExpirationTime("10m").encode(),
      // The server's public key file used as an HMAC secret: the old trick
      // of a verifier that lets the token choose the algorithm.
      "HS256 keyed with the public key": await mint({ sub: "alice" }, publicKeyFile, "HS256"),
    };
    for (const [why, token] of Object.entries(forged)) {
      const r = await api.GET("/users/{user_id}", { params: { path: { user_id: "alice" } }, headers: bearer(token) });
      assert.equal(r.error?.type, "/problems/unauthorized", `${why}: ${shown(r)}`);
      assert.equal(r.response.headers.get("WWW-Authenticate"), 'Bearer realm="flashsale", error="invalid_token"', why);
      const cancel = await api.POST("/reservations/{reservation_id}/cancel", { ...reservation, headers: bearer(token) });
      assert.equal(cancel.response.status, 401, `${why}: ${shown(cancel)}`);
    }
  });

  await t.test("alice, with her own token, reads her hold and confirms it", async () => {
    const r = await alice.api.GET("/users/{user_id}", { params: { path: { user_id: "alice" } } });
    if (r.data?.state !== "held") assert.fail(shown(r));
    if (aliceHold.data?.status !== "held") assert.fail(shown(aliceHold));
    assert.equal(r.data.reservation.reservation_id, aliceHold.data.reservation_id, where(r.data));

    const reservation = { params: { path: { reservation_id: aliceHold.data.reservation_id } } };
    const confirmed = await alice.api.POST("/reservations/{reservation_id}/confirm", reservation);
    assert.equal(confirmed.data?.status, "confirmed", shown(confirmed));
    const read = await alice.api.GET("/reservations/{reservation_id}", reservation);
    assert.equal(read.data?.status, "confirmed", shown(read));
  });

  await t.test("a new token for the same shopper is the same shopper", async () => {
    const later = shopperClient(baseUrl, await mint({ sub: "alice", expiresIn: 1200 }));
    const r = await later.api.GET("/users/{user_id}", { params: { path: { user_id: "alice" } } });
    assert.equal(r.data?.state, "confirmed", shown(r));
  });

  await t.test("bob leaves the line, and the books add up", async () => {
    const left = await bob.api.DELETE("/waitlist/{user_id}", { params: { path: { user_id: "bob" } } });
    assert.equal(left.response.status, 204, shown(left));
    const status = await api.GET("/status");
    assert.deepEqual(status.data, {
      initialized: true, total_inventory: 1, available: 0, held: 0, confirmed: 1, waitlist_size: 0, phase: "open", prequeue_size: 0,
    });
  });
});
