// Package webhook tells the shop of every change a shopper must hear of: it
// follows the sale's committed feed (sale.Outbox) and POSTs each event, in
// feed order, to every configured endpoint, signed as Standard Webhooks 1.0
// prescribes, so that a shop verifies them with any of its libraries.
//
// Delivery is at least once and in order. Each endpoint's cursor, the last
// event it acknowledged with a 2xx, is kept in the store; a server delivers
// to an endpoint only while it holds the endpoint's lease there, one event
// at a time, and records its progress every so often. After a crash or a
// failover, delivery resumes from the recorded cursor: only events whose
// acknowledgement was not recorded yet are sent again, with the same
// webhook-id, so that the shop drops the duplicates.
//
// An event that cannot be delivered is retried with exponential backoff
// and jitter until it is MaxAge old, then dead-lettered: counted, logged
// once with its id, kept in the endpoint's state, and passed over.
//
// Nothing here is on the sale's path: the feed is already the outbox, so a
// reserve writes nothing for webhooks, and a slow or dead endpoint only
// falls behind. Each endpoint keeps a copy of the sale (internal/rules,
// fed the same events through Apply) to say what each event left: the
// user's state or the sale's status at that event, not at delivery.
// docs/design.md has the argument.
package webhook
