import "./instrumentation"; // first: traces (issue 10), before anything it instruments loads
import { runSubgraph } from "@sprintconnect/subgraph-kit";
import { buildMetricsSchema } from "./schema";

void runSubgraph({ name: "metrics", defaultPort: 4003, buildSchema: ({ db }) => buildMetricsSchema(db) });
