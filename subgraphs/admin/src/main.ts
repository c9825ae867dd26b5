import "./instrumentation"; // first: traces (issue 10), before anything it instruments loads
import "reflect-metadata";
import { createRedis, redisAccessChangeNotifier, redisAuthInvalidator, resolveKeys } from "@sprintconnect/core";
import { runSubgraph } from "@sprintconnect/subgraph-kit";
import { loginOptionsFromEnv } from "./login-options";
import { createWebhookDeps } from "./modules/webhooks/webhook.deps";
import { buildAdminSchema } from "./schema";

void runSubgraph({
  name: "admin",
  defaultPort: 4004,
  buildSchema: ({ db, env, keys, logger, secretStoreKey }) => {
    const publisher = createRedis(env.REDIS_URL, "admin-publisher");
    publisher.on("error", (err: Error) => logger.warn({ err }, "admin publisher connection error"));
    return buildAdminSchema(db, {
      apiKeyPepper: resolveKeys(env).apiKeyPepper,
      keys,
      invalidate: redisAuthInvalidator(publisher, logger),
      accessChanged: redisAccessChangeNotifier(publisher, logger),
      login: loginOptionsFromEnv(env, logger),
      // --- webhooks (issue 10) ---
      webhooks: createWebhookDeps({ env, db, logger, secretStoreKey }),
      // --- end webhooks ---
    });
  },
});
