import { runSubgraph } from "@sprintconnect/subgraph-kit";
import { buildRegistrySchema } from "./schema";

void runSubgraph({ name: "registry", defaultPort: 4001, buildSchema: ({ db }) => buildRegistrySchema(db) });
