// What the contract tests share: answers and states in words, for failure
// messages.
import type { UserState } from "./client.js";

/** where says where a user stands, in words: every state is handled. */
export function where(u: UserState): string {
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
export function shown(r: { response: Response; data?: unknown; error?: unknown }): string {
  return `${r.response.status} ${JSON.stringify(r.error ?? r.data)}`;
}
