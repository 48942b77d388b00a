// Package load measures a flash sale server from outside, the way its
// clients see it, and checks its books afterwards: that not one unit was
// oversold and every waiting place was handed out once.
//
// It stands beside the service, not on top of it: it knows the server only
// by its HTTP API (the generated client models of api/openapi.yaml, and the
// embedded document for its limits) and by its command line (the servers
// it measures are processes it starts: a free loopback port picked here and
// passed as --addr, ready once GET /healthz answers 200). It imports
// nothing else of the service.
//
// Throughput is measured by wrk (https://github.com/wg/wrk, Debian's wrk), a
// load generator written in C that is not this project's (Wrk): the real
// server against the referee and the baseline, on a durable store against the memory
// store, and with a dead webhook endpoint against none, in alternating
// rounds, each run a fresh process and a fresh sale, with the books
// checked after every run. wrk only counts what it was told:
// checkWrkBooks compares that with GET /status.
//
// What wrk cannot do is done here, by hand:
//
//   - The exact books under a mix of requests (Books, the books command).
//     Checking the books exactly needs every answer's ids: which user got
//     which hold and which place in line, so that a hold can be confirmed
//     or cancelled, the same user can reserve again (which must be refused
//     or keep their place), and every place can be checked to be given
//     once. A wrk script sees each answer alone, keeps no state a
//     follow-up request could use across its threads, and reports only
//     counts; so this package sends those requests itself, one worker per
//     keep-alive connection.
//   - The event streams benchmark (Streams, the streams command): thousands
//     of Server-Sent Event streams held open at once, each read as its
//     events arrive and timed from the request that moved the line. wrk
//     measures requests that end; a stream never does, and wrk neither
//     parses its events nor times them against another request.
//   - The baseline (Baseline, the baseline command): not a generator but
//     the bare net/http handler the real server is measured against, the
//     fastest answer to POST /reserve on the same machine, with no books.
//   - The referee (Referee, the referee command): the correct server a
//     competent engineer writes by hand, with no spec (one mutex, a map of
//     users, a FIFO line, holds that expire, encoding/json): what the
//     spec-first stack must come within 10 % of (issue 28).
package load
