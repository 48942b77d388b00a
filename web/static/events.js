// The events of a user's stream (GET /users/{id}/events), every one of
// them and only here: stream.js passes on these names and no other, and
// view.js says what each means to the shopper. web/streamevents_test.go
// holds this list to api/openapi.yaml's table of events.
//
// Each event has its words: the sentence it adds to the page, given the
// state it brought and the state shown before it, as [text, tone] (tone as
// view.js's say takes it), or null to leave the message as it was. Every
// event's data is the user's whole state, so the words never have to piece
// changes together. An event that tells the sale's phase has it as phase
// ("" for not known until the next reading of GET /status).

export const streamEvents = {
  // First, on every connection: a state met on arrival, before anything
  // happened. Only an ended hold is explained: a stream (re)opening must
  // not wipe what the page just said, such as why a Buy failed.
  state: {
    words: (state) => {
      const s = state.state === "none" ? state.reservation?.status : undefined;
      if (s === "expired") return ["Your last hold expired.", "info"];
      if (s === "cancelled") return ["Your last hold was cancelled.", "info"];
      return null;
    },
  },
  queued: {
    phase: "scheduled",
    words: (_state, before) =>
      before?.state === "queued"
        ? ["The opening has moved: see the new time of the draw below.", "info"]
        : ["You joined the pre-queue. Keep this page open: it changes by itself at the draw.", "info"],
  },
  drawn: {
    phase: "open",
    words: (state) =>
      state.state === "held"
        ? ["The draw is made, and one is yours! Confirm it before the time runs out.", "loud"]
        : [`The draw is made: you are number ${state.waitlist_position} in line. This page changes by itself when your turn comes.`, "info"],
  },
  joined: { words: () => ["You are in line. This page changes by itself when your turn comes.", "info"] },
  position: { words: () => null }, // only the number in line moves
  held: { words: () => ["", "info"] },
  promoted: { words: () => ["Your turn! One is held for you: confirm it before the time runs out.", "loud"] },
  confirmed: { words: () => ["", "good"] },
  cancelled: { words: () => ["Cancelled. The unit went back on sale.", "info"] },
  expired: { words: () => ["Your hold expired before you confirmed.", "bad"] },
  left: { words: (_state, before) => [before?.state === "queued" ? "You left the pre-queue." : "You left the line.", "info"] },
  closed: {
    phase: "closed",
    words: (state) =>
      state.state === "held"
        ? ["The sale has ended, but your hold stands: confirm it before the time runs out.", "loud"]
        : ["The sale has ended.", "info"],
  },
  reset: { phase: "", words: () => ["A new sale started.", "info"] },
};

// eventNames is every event the page reads; an event of another name (one
// a newer shop might send) is passed over.
export const eventNames = new Set(Object.keys(streamEvents));
