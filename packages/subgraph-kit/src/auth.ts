import { forbidden, hasScopes, type Principal, unauthenticated } from "@sprintconnect/core";
import type { AuthChecker } from "type-graphql";
import type { SubgraphContext } from "./context";

/**
 * The one authorization check of every subgraph: `@Authorized("servers:write")` names the
 * scopes an operation needs. No principal is UNAUTHENTICATED; missing scopes are FORBIDDEN.
 */
export const authChecker: AuthChecker<SubgraphContext> = ({ context }, scopes) => {
  authorize(context, scopes);
  return true;
};

/**
 * The caller, when it has every scope in `scopes`: UNAUTHENTICATED without a principal,
 * FORBIDDEN without the scopes. `authChecker` and every entity reference resolver use it.
 */
export function authorize(context: SubgraphContext, scopes: readonly string[]): Principal {
  const principal = requirePrincipal(context);
  if (!hasScopes(principal, scopes)) {
    throw forbidden(`This operation needs the scope${scopes.length > 1 ? "s" : ""} ${scopes.join(", ")}`);
  }
  return principal;
}

/** The caller, or UNAUTHENTICATED. */
export function requirePrincipal(context: SubgraphContext): Principal {
  if (!context.principal) throw unauthenticated();
  return context.principal;
}
