// Reading the event-stream format (the HTML standard's Server-Sent Events)
// from text that arrives in pieces. The page reads its stream with fetch,
// which can send the shopper's token, and not with EventSource, which
// cannot; so the parsing EventSource would do is done here, by the
// standard's rules, which any server's stream follows.

// EventParser turns the text of one response into events. push takes each
// piece as it arrives (a piece may end anywhere, even between "\r" and
// "\n"), and onEvent gets { type, data, id } for every complete event.
// lastId and retry outlive the response: the next connection sends lastId
// as Last-Event-ID and waits retry milliseconds before it is made.
export class EventParser {
  constructor(onEvent, lastId = "") {
    this.onEvent = onEvent;
    this.lastId = lastId; // the id of the last event, sent back on reconnect
    this.retry = null; // milliseconds, once the server says
    this.pending = ""; // text after the last complete line
    this.type = "";
    this.data = [];
    this.id = lastId; // the id buffer, which an event without id: keeps
  }

  // push reads one more piece of the response.
  push(text) {
    let buf = this.pending + text;
    let start = 0;
    for (;;) {
      const cr = buf.indexOf("\r", start);
      const lf = buf.indexOf("\n", start);
      if (cr === -1 && lf === -1) {
        break;
      }
      let end;
      let next;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        if (cr === buf.length - 1) {
          break; // "\r" is a line's end, but a "\n" may follow in the next piece
        }
        end = cr;
        next = buf[cr + 1] === "\n" ? cr + 2 : cr + 1;
      } else {
        end = lf;
        next = lf + 1;
      }
      this.line(buf.slice(start, end));
      start = next;
    }
    this.pending = buf.slice(start);
  }

  // end is the end of the response. An event with no blank line after it is
  // dropped, as the standard says: it may have been cut short.
  end() {
    if (this.pending.endsWith("\r")) {
      this.line(this.pending.slice(0, -1));
    }
    this.pending = "";
    this.type = "";
    this.data = [];
  }

  line(line) {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) {
      return; // a comment, such as the server's heartbeat
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) {
      value = value.slice(1);
    }
    switch (field) {
      case "event":
        this.type = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) {
          this.id = value;
        }
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) {
          this.retry = parseInt(value, 10);
        }
        break;
      default:
      // a field the standard does not know is ignored
    }
  }

  dispatch() {
    this.lastId = this.id;
    const type = this.type || "message";
    const data = this.data;
    this.type = "";
    this.data = [];
    if (data.length === 0) {
      return;
    }
    this.onEvent({ type, data: data.join("\n"), id: this.lastId });
  }
}
