import { randomUUID } from "node:crypto";
import { ChatEventHub } from "@sprintconnect/chat-subgraph";
import { ChatEventLog, type ChatEventRecord, createLogger, createRedis, type Redis } from "@sprintconnect/core";
import { TEST_LOG_LEVEL, TEST_REDIS_URL } from "./support/env";

let redis: Redis;
let log: ChatEventLog;

beforeAll(() => {
  redis = createRedis(TEST_REDIS_URL, "test-chat-event-hub");
  log = new ChatEventLog(redis, { size: 100, ttlSeconds: 60 });
});

afterAll(async () => {
  await redis.quit();
});

function publish(sessionId: string) {
  return log.publish({ sessionId, organizationId: randomUUID(), turnId: randomUUID(), type: "token", text: "hi" });
}

describe("the chat subgraph's event hub", () => {
  it("subscribes sessions asked for while its new Redis connection is still in its handshake, and delivers their events", async () => {
    const hub = new ChatEventHub(TEST_REDIS_URL, log, createLogger("test", TEST_LOG_LEVEL));
    const sessions = [randomUUID(), randomUUID(), randomUUID()];
    try {
      // The first subscription opens the hub's connection; the others come while it is in
      // ioredis's handshake (status `connect`: connected, ready check not done), as a burst of
      // subscriptions on a new or reconnecting connection does. ioredis 5 wrote their SUBSCRIBE
      // at once, its own ready check was refused, and every subscription failed.
      const first = hub.subscribe(sessions[0] as string, 0);
      const connection = (hub as unknown as { connection: Redis }).connection;
      const during = new Promise<Promise<AsyncIterableIterator<ChatEventRecord>>[]>((resolve) =>
        connection.once("connect", () => resolve(sessions.slice(1).map((id) => hub.subscribe(id, 0)))),
      );
      const streams = await Promise.all([first, ...(await during)]);
      for (const id of sessions) await publish(id);
      const received = await Promise.all(streams.map((s) => s.next()));
      expect(received.map((r) => (r.value as ChatEventRecord).sessionId)).toEqual(sessions);
      for (const s of streams) await s.return?.();
    } finally {
      await hub.close();
    }
  });
});
