/**
 * Who is calling: one organization, one user, and (when authenticated by an API key) the key.
 * The gateway builds it; subgraphs receive it inside the internal token.
 */

/** Roles of a membership, from most to least powerful. */
export const ROLES = ["owner", "admin", "developer", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/** Every scope an operation can require. */
export const SCOPES = [
  "org:read",
  "org:manage",
  "members:manage",
  "api_keys:write",
  "api_keys:manage",
  "audit:read",
  "servers:read",
  "servers:write",
  /** Clear `reviewRequired` on a capability held for review (owner and admin, never developer). */
  "capabilities:review",
  "chat:read",
  "chat:write",
  "metrics:read",
  // --- webhooks (issue 10) ---
  /** Create, change, delete, test and redeliver webhooks; read their delivery logs (owner and admin). */
  "webhooks:manage",
  // --- end webhooks ---
  // ---- access policies (issue 9) ----
  /** Read, create, change and delete the organization's access policies (owner and admin). */
  "policies:manage",
  // ---- end access policies ----
] as const;
export type Scope = (typeof SCOPES)[number];

const VIEWER: Scope[] = ["org:read", "servers:read", "chat:read", "metrics:read"];
const DEVELOPER: Scope[] = [...VIEWER, "servers:write", "chat:write", "api_keys:write"];
const ADMIN: Scope[] = [
  ...DEVELOPER,
  "members:manage",
  "api_keys:manage",
  "audit:read",
  "capabilities:review",
  "webhooks:manage", // webhooks (issue 10)
  "policies:manage",
];
const OWNER: Scope[] = [...ADMIN, "org:manage"];

/** The scopes each role grants. */
export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  owner: OWNER,
  admin: ADMIN,
  developer: DEVELOPER,
  viewer: VIEWER,
};

export interface Principal {
  organizationId: string;
  userId: string;
  /** Set when the caller authenticated with an API key. */
  apiKeyId: string | null;
  role: Role;
  /** Effective scopes: the role's, narrowed to the key's when an API key is used. */
  scopes: Scope[];
  authMethod: "jwt" | "api_key";
  /**
   * The organization's access epoch the gateway read for this request (`policy/access-epoch.ts`),
   * carried in the internal token: subgraphs may reuse the organization's access policies read
   * under the same epoch. Absent (a subscription, a caller that is not the gateway): policies
   * are read fresh.
   */
  accessEpoch?: number;
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** The scopes a caller has: the role's, narrowed by an API key's own list. */
export function effectiveScopes(role: Role, keyScopes?: readonly string[]): Scope[] {
  const granted = ROLE_SCOPES[role];
  if (!keyScopes) return [...granted];
  return granted.filter((s) => keyScopes.includes(s));
}

export function hasScopes(principal: Principal, required: readonly string[]): boolean {
  return required.every((s) => (principal.scopes as readonly string[]).includes(s));
}
