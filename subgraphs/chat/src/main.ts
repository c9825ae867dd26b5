import { runSubgraph } from "@sprintconnect/subgraph-kit";
import { buildChatSchema } from "./schema";

void runSubgraph({ name: "chat", defaultPort: 4002, buildSchema: ({ db }) => buildChatSchema(db) });
