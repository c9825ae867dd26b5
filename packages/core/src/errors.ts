import { GraphQLError } from "graphql";

/**
 * The closed list of error codes. Every error a client sees carries one of these in
 * `extensions.code` (GraphQL) or `error.code` (REST), and REST maps each to one HTTP status.
 */
export enum ErrorCode {
  /** The request is malformed: bad JSON, wrong types, unknown fields, a bad cursor. */
  BAD_REQUEST = "BAD_REQUEST",
  /** The request is well-formed but a value is not acceptable (e.g. a non-http URL). */
  VALIDATION_FAILED = "VALIDATION_FAILED",
  /** No credentials, or credentials that are invalid, expired or revoked. */
  UNAUTHENTICATED = "UNAUTHENTICATED",
  /** Authenticated, but the role or key scopes do not allow the operation. */
  FORBIDDEN = "FORBIDDEN",
  /** No such resource in the caller's organization (another tenant's rows are NOT_FOUND). */
  NOT_FOUND = "NOT_FOUND",
  /** The operation conflicts with the current state (e.g. a duplicate name). */
  CONFLICT = "CONFLICT",
  /** The request body exceeds MAX_BODY_BYTES. */
  PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE",
  /** An outbound URL is refused by the egress guard. */
  EGRESS_DENIED = "EGRESS_DENIED",
  /**
   * A server's URL moves to another origin (scheme, host, port) while the caller asked to keep
   * its credentials (`keepCredentials: true`): credentials are bound to the origin they were
   * stored for, so give new ones in the same request.
   */
  CREDENTIALS_REQUIRED = "CREDENTIALS_REQUIRED",
  /** The organization has reached a configured limit (e.g. MAX_SERVERS_PER_ORGANIZATION). */
  LIMIT_EXCEEDED = "LIMIT_EXCEEDED",
  /** Too many requests in the current window; retry after `Retry-After` seconds. */
  RATE_LIMITED = "RATE_LIMITED",
  /** The organization's daily request quota is used up. */
  QUOTA_EXCEEDED = "QUOTA_EXCEEDED",
  /** A dependency (database, Redis, a subgraph) is unavailable; retry later. */
  SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE",
  /** An unexpected failure. The message never carries internals; the logs do. */
  INTERNAL = "INTERNAL",
  /** The organization's monthly budget is used up and it set a hard limit (chat turns are refused). */
  BUDGET_EXCEEDED = "BUDGET_EXCEEDED",
  // --- OIDC login (issue 9) ---
  /**
   * An authorization code, PKCE verifier, redirect URI, nonce, ID token or refresh token was
   * refused (wrong, expired, replayed, revoked). The provider's own answer is never passed on.
   */
  INVALID_GRANT = "INVALID_GRANT",
  /**
   * The person logged in but may act in no organization: no membership and no invitation for
   * their verified email, or not a member of the `organizationId` asked for.
   */
  NO_MEMBERSHIP = "NO_MEMBERSHIP",
  /** The person belongs to several organizations: name one with `organizationId` (`details.organizations`). */
  ORGANIZATION_REQUIRED = "ORGANIZATION_REQUIRED",
  // --- end OIDC login ---
}

/** The one mapping from error code to HTTP status. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  [ErrorCode.BAD_REQUEST]: 400,
  [ErrorCode.VALIDATION_FAILED]: 422,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCode.EGRESS_DENIED]: 422,
  [ErrorCode.CREDENTIALS_REQUIRED]: 422,
  [ErrorCode.LIMIT_EXCEEDED]: 422,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.QUOTA_EXCEEDED]: 429,
  [ErrorCode.SERVICE_UNAVAILABLE]: 503,
  [ErrorCode.INTERNAL]: 500,
  [ErrorCode.BUDGET_EXCEEDED]: 402,
  // --- OIDC login (issue 9) ---
  [ErrorCode.INVALID_GRANT]: 400,
  [ErrorCode.NO_MEMBERSHIP]: 403,
  [ErrorCode.ORGANIZATION_REQUIRED]: 409,
  // --- end OIDC login ---
};

/** Codes that GraphQL servers and Apollo produce themselves, folded into our list. */
const FOREIGN_CODES: Readonly<Record<string, ErrorCode>> = {
  GRAPHQL_PARSE_FAILED: ErrorCode.BAD_REQUEST,
  GRAPHQL_VALIDATION_FAILED: ErrorCode.BAD_REQUEST,
  BAD_USER_INPUT: ErrorCode.BAD_REQUEST,
  BAD_REQUEST: ErrorCode.BAD_REQUEST,
  PERSISTED_QUERY_NOT_FOUND: ErrorCode.BAD_REQUEST,
  PERSISTED_QUERY_NOT_SUPPORTED: ErrorCode.BAD_REQUEST,
  OPERATION_RESOLUTION_FAILURE: ErrorCode.BAD_REQUEST,
  UNAUTHENTICATED: ErrorCode.UNAUTHENTICATED,
  FORBIDDEN: ErrorCode.FORBIDDEN,
  INTERNAL_SERVER_ERROR: ErrorCode.INTERNAL,
};

/** Whether `code` is one of ours. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && code in HTTP_STATUS;
}

/** Maps any code (ours, Apollo's, graphql-js's) onto the closed list. */
export function normalizeErrorCode(code: unknown): ErrorCode {
  if (isErrorCode(code)) return code;
  if (typeof code === "string" && code in FOREIGN_CODES) return FOREIGN_CODES[code] as ErrorCode;
  return ErrorCode.INTERNAL;
}

/** An expected failure with a stable code. Safe to show to the caller as it is. */
export class AppError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(message, { extensions: { code, ...(details ? { details } : {}) } });
    this.name = "AppError";
  }
}

export const notFound = (what: string) => new AppError(ErrorCode.NOT_FOUND, `${what} not found`);
export const forbidden = (message = "Not allowed") => new AppError(ErrorCode.FORBIDDEN, message);
export const unauthenticated = (message = "Authentication required") =>
  new AppError(ErrorCode.UNAUTHENTICATED, message);
export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new AppError(ErrorCode.BAD_REQUEST, message, details);
export const validationFailed = (message: string, details?: Record<string, unknown>) =>
  new AppError(ErrorCode.VALIDATION_FAILED, message, details);
