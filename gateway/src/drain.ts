import type { IncomingMessage } from "node:http";

/** Most bytes of a refused body read and discarded so that its sender can read the refusal. */
export const DRAIN_MAX_BYTES = 32 * 1024 * 1024;
/** Longest wait for a refused body to arrive before answering anyway. */
export const DRAIN_MAX_MS = 10_000;

/**
 * Reads and discards the rest of a request body, up to a bound. A client still sending a body
 * when the server answers and closes the connection gets EPIPE or ECONNRESET instead of the
 * answer; reading the body first lets it finish sending and then read the answer. Past the
 * bound (a client that would never stop) the answer goes out anyway.
 */
export function drainRequest(request: IncomingMessage, maxBytes = DRAIN_MAX_BYTES, maxMs = DRAIN_MAX_MS) {
  const declared = Number(request.headers["content-length"]);
  if (request.complete || request.destroyed || declared > maxBytes) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let received = 0;
    const done = () => {
      clearTimeout(timer);
      request.off("data", onData);
      request.off("end", done);
      request.off("error", done);
      request.off("close", done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) done();
    };
    const timer = setTimeout(done, maxMs);
    request.on("data", onData);
    request.on("end", done);
    request.on("error", done);
    request.on("close", done);
    request.resume();
  });
}
