// A typed client of flashsale. Every type comes from api/openapi.yaml,
// through openapi-typescript (src/generated/schema.d.ts, built by
// `npm run generate`, never edited); openapi-fetch makes the calls. What
// is written here by hand is only names for the types a storefront uses
// most, and two helpers.
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Schemas = components["schemas"];

/** A unit held for a user until `expires_at` (201 of POST /reserve). */
export type Hold = Schemas["Hold"];
/** A place in the line (202 of POST /reserve). */
export type Waitlisted = Schemas["Waitlisted"];
/** Where a user stands: one of four shapes, told apart by `state`. */
export type UserState = Schemas["UserState"];
export type Reservation = Schemas["Reservation"];
export type Status = Schemas["Status"];
/** An RFC 9457 problem; branch on its `type`. */
export type Problem = Schemas["Problem"];
export type ProblemType = Schemas["ProblemType"];

/** A flashsale server's API, every path and answer typed. */
export type FlashsaleClient = Client<paths>;

/**
 * connect makes a client of the server at baseUrl (e.g.
 * http://127.0.0.1:8080). The admin token goes only on POST /initialize,
 * in that call's own headers, so it is never sent where it is not needed.
 */
export function connect(baseUrl: string): FlashsaleClient {
  return createClient<paths>({ baseUrl });
}

/** adminHeaders are the headers of a call made as the operator. */
export function adminHeaders(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
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
