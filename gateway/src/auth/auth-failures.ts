import type { ApolloServerPlugin } from "@apollo/server";
import { ErrorCode } from "@sprintconnect/core";
import type { GatewayContext } from "../graphql";
import type { AuthFailureCounter } from "./authenticate";

/**
 * Logging in and refreshing carry their credentials in the operation (a code, a refresh token),
 * not in `Authorization`, so `Authenticator` never sees them fail. For operations without a
 * principal (GraphQL and the public REST routes alike): an IP over its failed-authentication
 * limit is refused before the operation runs, and every INVALID_GRANT answer counts as one
 * failure, exactly as a wrong API key would.
 */
export function authFailurePlugin(counter: AuthFailureCounter): ApolloServerPlugin<GatewayContext> {
  return {
    requestDidStart: async ({ contextValue }) => {
      if (contextValue.principal) return;
      return {
        didResolveOperation: async () => {
          await counter.assertNotBlocked(contextValue.ip);
        },
        willSendResponse: async ({ response }) => {
          if (response.body.kind !== "single") return;
          const refused = response.body.singleResult.errors?.some(
            (error) => error.extensions?.code === ErrorCode.INVALID_GRANT,
          );
          if (refused) await counter.recordFailure(contextValue.ip);
        },
      };
    },
  };
}
