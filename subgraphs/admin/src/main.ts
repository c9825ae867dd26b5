import "reflect-metadata";
import { resolveKeys } from "@sprintconnect/core";
import { runSubgraph } from "@sprintconnect/subgraph-kit";
import { buildAdminSchema } from "./schema";

void runSubgraph({
  name: "admin",
  defaultPort: 4004,
  buildSchema: ({ db, env, keys }) => buildAdminSchema(db, { apiKeyPepper: resolveKeys(env).apiKeyPepper, keys }),
});
