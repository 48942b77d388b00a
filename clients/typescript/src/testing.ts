// What the contract tests share: answers and states in words, for failure
// messages.
import type { UserState } from "./client.js";

/** where says where a user stands, in words: every state is handled. */
export function where(u: UserState): string {
  switch (u.state) {
    case "none":
      return u.reservation === undefined ? "nothing" : `nothing (last hold ${u.reservation.status})`;
    case "queued":
      return `in the pre-queue, drawn at ${u.opens_at}`;
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

/** One event of a stream: its name and its data. */
export interface StreamEvent {
  event: string;
  data: string;
}

/**
 * streamEvents reads an event stream's answer (GET /users/{id}/events)
 * event by event, for as long as the caller reads and the stream lasts.
 * The retry: block and heartbeat comments carry no event and are passed
 * over. It is as much of the format as the server writes: one `data` line
 * an event, lines ending in \n.
 */
export async function* streamEvents(response: Response): AsyncGenerator<StreamEvent> {
  if (response.body === null) throw new Error("an event stream with no body");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      text += value;
      let end;
      while ((end = text.indexOf("\n\n")) !== -1) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const field = (name: string) => block.split("\n").find((l) => l.startsWith(name + ": "))?.slice(name.length + 2);
        const event = field("event");
        const data = field("data");
        if (event !== undefined && data !== undefined) yield { event, data };
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** stateIn is the `state` of an event's data (UserState JSON), if it has one. */
export function stateIn(data: string): string | undefined {
  const v: unknown = JSON.parse(data);
  return typeof v === "object" && v !== null && "state" in v && typeof v.state === "string" ? v.state : undefined;
}
