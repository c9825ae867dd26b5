export { CompositionError, composeSupergraph, SUBGRAPH_NAMES, type SubgraphName, subgraphUrls } from "./compose";
