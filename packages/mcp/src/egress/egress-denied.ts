import { AppError, ErrorCode } from "@sprintconnect/core";

/** Why the egress guard refused a connection: `details.reason` of the EGRESS_DENIED error. */
export type EgressDenialReason =
  /** The URL does not parse. */
  | "invalid_url"
  /** Not http or https. */
  | "scheme"
  /** The URL carries a user name or password. */
  | "credentials"
  /** No entry of ALLOWED_EGRESS_HOSTS admits the host. */
  | "not_allowlisted"
  /** The host is, or resolves to, a non-public address that no IP or CIDR entry names. */
  | "private_address"
  /** The host name does not resolve. */
  | "unresolvable"
  /** More redirects than `maxRedirects`. */
  | "too_many_redirects"
  /** The response body (or one server-sent event) is larger than `maxResponseBytes`. */
  | "response_too_large";

/** The EGRESS_DENIED error, with the URL (without credentials) and a stable reason code. */
export function egressDenied(
  reason: EgressDenialReason,
  message: string,
  url: URL | string,
  extra: Record<string, unknown> = {},
): AppError {
  return new AppError(ErrorCode.EGRESS_DENIED, message, { url: withoutCredentials(url), reason, ...extra });
}

/** The URL as text, without user name or password. */
export function withoutCredentials(url: URL | string): string {
  if (typeof url === "string") return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1");
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  return copy.href;
}
