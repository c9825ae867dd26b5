import { ErrorCode } from "@sprintconnect/core";
import { SubscriberQueue } from "./events";

describe("SubscriberQueue", () => {
  it("hands out values in order, to a waiting reader at once", async () => {
    const queue = new SubscriberQueue<number>(10, "too slow", () => undefined);
    const pending = queue.next();
    queue.push(1);
    queue.push(2);
    expect(await pending).toEqual({ value: 1, done: false });
    expect(await queue.next()).toEqual({ value: 2, done: false });
  });

  it("ends a subscriber that lets more than its limit wait with SERVICE_UNAVAILABLE, after the queued values", async () => {
    let ended = 0;
    const queue = new SubscriberQueue<number>(2, "Subscriber too slow", () => ended++);
    for (const value of [1, 2, 3, 4]) queue.push(value);
    expect(await queue.next()).toEqual({ value: 1, done: false });
    expect(await queue.next()).toEqual({ value: 2, done: false });
    await expect(queue.next()).rejects.toMatchObject({
      message: "Subscriber too slow",
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
    });
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    expect(ended).toBe(1);
  });

  it("ends after the queued values on end(): a pending reader is told done, onEnd runs once", async () => {
    let ended = 0;
    const queue = new SubscriberQueue<number>(10, "too slow", () => ended++);
    queue.push(1);
    queue.end();
    queue.push(2); // after the end: dropped
    expect(await queue.next()).toEqual({ value: 1, done: false });
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    const idle = new SubscriberQueue<number>(10, "too slow", () => ended++);
    const pending = idle.next();
    idle.end();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(ended).toBe(2);
  });

  it("ends at once on return(), resolving a pending next() and running onEnd once", async () => {
    let ended = 0;
    const queue = new SubscriberQueue<number>(10, "too slow", () => ended++);
    const pending = queue.next();
    await queue.return();
    await queue.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    queue.push(1);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    expect(ended).toBe(1);
  });
});
