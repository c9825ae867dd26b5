export { createGatewayApp, SUPERGRAPH_PATH } from "./app";
export { MAX_OPERATION_NAMES } from "./metrics";
export { ROUTES } from "./rest/routes";
