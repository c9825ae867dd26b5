import type { Duplex } from "node:stream";
import { AppError, ErrorCode } from "@sprintconnect/core";
import { SubscriberQueue } from "@sprintconnect/subgraph-kit";
import { WebSocket } from "ws";

const TOO_SLOW = "Subscriber too slow: events were dropped; subscribe again";

/**
 * Bytes a client connection may leave unsent in the gateway (its socket's buffer, past what the
 * kernel holds) before each of its subscriptions that gets another event is ended as too slow.
 * A burst of 26 events to 100 subscriptions on one connection is ~1 MB.
 */
export const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

/**
 * The text graphql-ws would send for `{ id, type: "next", payload }` (`stringifyMessage`, no
 * replacer), with the payload already serialized: the payload is serialized once per event
 * and only the subscription id differs between the subscribers it is written to.
 */
export function nextFramePrefix(id: string): string {
  return `{"id":${JSON.stringify(id)},"type":"next","payload":`;
}

/**
 * Writes frames to one graphql-ws client connection, outside graphql-ws's per-message path.
 * The frames written in one tick (one event to every subscription on the connection, or several
 * events read from one upstream chunk) leave in one write: the raw socket is corked on the first
 * and uncorked on the next tick, so a connection costs one syscall per event, not one per frame.
 * Order with what graphql-ws itself sends on the same socket (`complete`, `error`) is kept: both
 * go through the same `ws` socket and its one write queue.
 */
export class SocketWriter {
  private corked = false;

  constructor(
    private readonly socket: WebSocket,
    /** The upgraded TCP socket under `socket` (the upgrade request's `socket`). */
    private readonly raw: Duplex,
    private readonly maxUnsent = MAX_UNSENT_BYTES,
  ) {}

  /** The client reads slower than its events arrive: more than `maxUnsent` bytes wait. */
  get congested(): boolean {
    return this.socket.bufferedAmount > this.maxUnsent;
  }

  /** Sends one text frame; a socket that is closing takes nothing (its subscriptions are ending). */
  send(frame: string): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (!this.corked) {
      this.corked = true;
      this.raw.cork();
      process.nextTick(this.uncork);
    }
    this.socket.send(frame);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.raw.uncork();
  };
}

/** Where a subscriber's results go: its graphql-ws subscription id on its connection's socket. */
export interface Delivery {
  id: string;
  writer: SocketWriter;
}

/**
 * One gateway subscriber of an upstream subscription. Its results are written straight to its
 * socket as graphql-ws `next` frames (the payload serialized once per event for every member,
 * its id spliced in). `done` is the iterator graphql-ws holds for the subscription: it yields
 * nothing and settles when the subscription ends (done: graphql-ws sends `complete`; rejected:
 * it sends `error`), and its `return()` (the client's `complete`, a closed socket) leaves.
 */
export class Member {
  readonly done: SubscriberQueue<never>;
  private readonly prefix: string;

  constructor(
    private readonly delivery: Delivery,
    onEnd: () => void,
  ) {
    this.prefix = nextFramePrefix(delivery.id);
    this.done = new SubscriberQueue<never>(0, TOO_SLOW, onEnd);
  }

  /** One result, serialized. A client whose socket holds too much unsent is ended instead. */
  deliver(payload: string): void {
    if (this.delivery.writer.congested) {
      this.done.fail(new AppError(ErrorCode.SERVICE_UNAVAILABLE, TOO_SLOW));
      return;
    }
    this.delivery.writer.send(`${this.prefix}${payload}}`);
  }
}
