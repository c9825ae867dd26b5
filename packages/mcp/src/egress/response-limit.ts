/**
 * Byte limits on response bodies. A plain body is capped as a whole. A `text/event-stream`
 * body is a long-lived stream of events, so the cap applies to each event (the bytes between
 * two blank lines) instead: a server may stream forever, but cannot make us buffer one endless
 * event.
 */

/** Counts bytes as a body streams; throws to end it. */
export interface ByteMeter {
  /** Called with each chunk before it is passed on. */
  add(chunk: Uint8Array): void;
}

/** Throws `tooLarge()` once the whole body exceeds `limit` bytes. */
export function totalBytesMeter(limit: number, tooLarge: () => Error): ByteMeter {
  let total = 0;
  return {
    add(chunk) {
      total += chunk.byteLength;
      if (total > limit) throw tooLarge();
    },
  };
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * Throws `tooLarge()` once one server-sent event exceeds `limit` bytes. Events end at a blank
 * line; lines end with CRLF, LF or CR (WHATWG HTML, "event stream interpretation").
 */
export function perEventBytesMeter(limit: number, tooLarge: () => Error): ByteMeter {
  let inEvent = 0;
  let atLineStart = true;
  let afterCR = false;
  return {
    add(chunk) {
      for (const byte of chunk) {
        if (byte === LF && afterCR) {
          afterCR = false; // the LF of a CRLF
          continue;
        }
        afterCR = byte === CR;
        if (byte === CR || byte === LF) {
          if (atLineStart) inEvent = 0; // a blank line: the event is complete
          atLineStart = true;
          continue;
        }
        atLineStart = false;
        inEvent += 1;
        if (inEvent > limit) throw tooLarge();
      }
    },
  };
}

/**
 * Passes `body` through `meter`. `onEnd` runs once when the body ends, fails or is cancelled;
 * `explain` turns a read error into the error the reader sees.
 */
export function meteredBody(
  body: ReadableStream<Uint8Array>,
  meter: ByteMeter,
  onEnd: () => void,
  explain: (error: unknown) => unknown,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      onEnd();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          end();
          controller.close();
          return;
        }
        meter.add(value);
        controller.enqueue(value);
      } catch (error) {
        end();
        controller.error(explain(error));
        // Releases the connection when the meter, not the network, ended the body.
        await reader.cancel(error).catch(() => undefined);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
}
