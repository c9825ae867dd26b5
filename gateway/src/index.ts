export { createGatewayApp, SUPERGRAPH_PATH } from "./app";
export { ROUTES } from "./rest/routes";
