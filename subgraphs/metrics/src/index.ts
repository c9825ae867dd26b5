export { buildMetricsSchema } from "./schema";
