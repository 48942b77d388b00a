// A typed client of flashsale. Every type comes from api/openapi.yaml,
// through openapi-typescript (src/generated/schema.d.ts, built by
// `npm run generate`, never edited); openapi-fetch makes the calls. What
// is written here by hand is only names for the types a storefront uses
// most, the shopper's client that carries their token, and two helpers.
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Schemas = components["schemas"];

/** A unit held for a user until `expires_at` (201 of POST /reserve). */
export type Hold = Schemas["Hold"];
/**
 * The 202 of POST /reserve: a place in the line (`Waitlisted`) or in a
 * scheduled sale's pre-queue (`Queued`), told apart by `status`.
 */
export type Accepted = Schemas["Accepted"];
/** A place in the line (`status: waiting`). */
export type Waitlisted = Schemas["Waitlisted"];
/**
 * A place in a scheduled sale's pre-queue (`status: queued`): no place in
 * the line until the draw at `opens_at`, whose `draw_commitment` is
 * published from the start.
 */
export type Queued = Schemas["Queued"];
/** Where a user stands: one of five shapes, told apart by `state`. */
export type UserState = Schemas["UserState"];
/** A user in a scheduled sale's pre-queue (`state: queued`). */
export type UserQueued = Schemas["UserQueued"];
export type Reservation = Schemas["Reservation"];
export type Status = Schemas["Status"];
/** An RFC 9457 problem; branch on its `type`. */
export type Problem = Schemas["Problem"];
export type ProblemType = Schemas["ProblemType"];

/** A flashsale server's API, every path and answer typed. */
export type FlashsaleClient = Client<paths>;

/**
 * connect makes a client of the server at baseUrl (e.g.
 * http://127.0.0.1:8080) that sends no token of its own: for the open
 * calls (status, healthz), and for calls that name their token in their
 * own headers (`bearer`), so a token is never sent where it is not needed.
 */
export function connect(baseUrl: string): FlashsaleClient {
  return createClient<paths>({ baseUrl });
}

/**
 * bearer is the header of one call made with token: the admin token on
 * POST /initialize (or on a call made for a shopper, for support), or a
 * shopper's token on a client that does not carry it.
 */
export function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

/** A shopper's client, and the token it carries. */
export interface Shopper {
  /**
   * The API, each call made as this shopper: with their token, once there
   * is one, unless the call sets its own Authorization.
   */
  readonly api: FlashsaleClient;
  /**
   * The token: the one given to shopperClient, or else the `shopper_token`
   * of this shopper's first reserve. A storefront keeps it (the browser's
   * storage, say) to make a client for the same shopper again: the server
   * gives it only once, and a known shopper without it is refused.
   */
  readonly token: string | undefined;
}

/**
 * shopperClient makes the client of one shopper of the server at baseUrl.
 * With the sale's own tokens (the server's default) give no token: the
 * first reserve of a user new to the sale answers with `shopper_token`,
 * which the client keeps and sends from then on. With the shop's tokens
 * (`--shopper-jwt-keys`), or with a token kept from before, give it here.
 */
export function shopperClient(baseUrl: string, token?: string): Shopper {
  let current = token;
  const carry: Middleware = {
    onRequest({ request }) {
      if (current !== undefined && !request.headers.has("Authorization")) {
        request.headers.set("Authorization", `Bearer ${current}`);
      }
      return request;
    },
    async onResponse({ request, response, schemaPath }) {
      if (schemaPath !== "/reserve" || request.method !== "POST" || (response.status !== 201 && response.status !== 202)) {
        return;
      }
      // The typed answer is the caller's to read; this reads a copy.
      const given = shopperTokenOf(await response.clone().json());
      if (given !== undefined) current = given;
    },
  };
  const api = connect(baseUrl);
  api.use(carry);
  return {
    api,
    get token() {
      return current;
    },
  };
}

/** shopperTokenOf is the `shopper_token` of a reserve's 201 or 202 body. */
function shopperTokenOf(body: unknown): string | undefined {
  if (typeof body === "object" && body !== null && "shopper_token" in body && typeof body.shopper_token === "string") {
    return body.shopper_token;
  }
  return undefined;
}

/**
 * retryAfterSeconds reads the Retry-After of a 429 or 503, which the
 * document marks required: a number of seconds, at least 1.
 */
export function retryAfterSeconds(response: Response): number {
  const value = response.headers.get("Retry-After");
  const seconds = Number(value);
  if (value === null || !Number.isInteger(seconds) || seconds < 1) {
    throw new Error(`Retry-After ${JSON.stringify(value)} is not a whole number of seconds`);
  }
  return seconds;
}
