import { forbidden, hasScopes, type Principal, unauthenticated } from "@sprintconnect/core";
import type { AuthChecker } from "type-graphql";
import type { SubgraphContext } from "./context";

/**
 * The one authorization check of every subgraph: `@Authorized("servers:write")` names the
 * scopes an operation needs. No principal is UNAUTHENTICATED; missing scopes are FORBIDDEN.
 */
export const authChecker: AuthChecker<SubgraphContext> = ({ context }, scopes) => {
  const principal = requirePrincipal(context);
  if (!hasScopes(principal, scopes)) {
    throw forbidden(`This operation needs the scope${scopes.length > 1 ? "s" : ""} ${scopes.join(", ")}`);
  }
  return true;
};

/** The caller, or UNAUTHENTICATED. */
export function requirePrincipal(context: SubgraphContext): Principal {
  if (!context.principal) throw unauthenticated();
  return context.principal;
}
