import "./instrumentation"; // first: traces (issue 10), before anything it instruments loads
import { ChatEventLog, createRedis } from "@sprintconnect/core";
import { JobQueues } from "@sprintconnect/jobs";
import { runSubgraph } from "@sprintconnect/subgraph-kit";
import { ChatEventHub } from "./modules/events/chat-event.hub";
import { buildChatSchema } from "./schema";

void runSubgraph({
  name: "chat",
  defaultPort: 4002,
  buildSchema: ({ env, db, logger }) => {
    const publisher = createRedis(env.REDIS_URL, "chat-publisher");
    publisher.on("error", (err: Error) => logger.warn({ err }, "chat publisher connection error"));
    const events = new ChatEventLog(publisher, {
      size: env.CHAT_EVENT_LOG_SIZE,
      ttlSeconds: env.CHAT_EVENT_LOG_TTL_SECONDS,
    });
    return buildChatSchema(db, {
      queues: new JobQueues({ redisUrl: env.REDIS_URL, isWorker: false, prefix: env.JOB_QUEUE_PREFIX }),
      events,
      publisher,
      hub: new ChatEventHub(env.REDIS_URL, events, logger),
      logger,
      maxMessageChars: env.CHAT_MAX_MESSAGE_CHARS,
      maxConcurrentTurnsPerOrg: env.CHAT_MAX_CONCURRENT_TURNS_PER_ORG,
    });
  },
});
