import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { AppError, ErrorCode, type Logger, type Principal } from "@sprintconnect/core";
import { CloseCode } from "graphql-ws";
import type WebSocket from "ws";
import type { Authenticator } from "../auth/authenticate";
import type { GatewayMetrics } from "../metrics";
import type { RateLimits } from "../rate-limit";

/** Close codes: graphql-ws has none for "too many requests"; 4429 is its "too many" code. */
const CLOSE_RATE_LIMITED = 4429;

/** An authenticated connection's credentials and who they belong to now. */
export interface AuthenticatedConnection {
  id: string;
  authorization: string;
  principal: Principal;
  ip: string;
}

/** A close reason fits in 123 bytes. */
function reason(text: string): string {
  return Buffer.byteLength(text) <= 123 ? text : `${Buffer.from(text).subarray(0, 120).toString()}...`;
}

/**
 * Authenticates subscription connections and their subscriptions: `connection_init` carries
 * `{"Authorization": "Bearer <JWT or sc_ key>"}` (4401 without valid credentials, 4429 when
 * limited, 1013 when a dependency is down); each subscribe, every minute and on every
 * authentication invalidation of its organization the credentials are checked again (through
 * the authentication cache), and a connection whose key was revoked or member removed is
 * closed with 4401.
 */
export class ConnectionAuth {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly limits: RateLimits,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
  ) {}

  /** The connection, or null after closing the socket with the reason. */
  async connect(
    socket: WebSocket,
    request: IncomingMessage,
    params: Record<string, unknown>,
  ): Promise<AuthenticatedConnection | null> {
    const authorization = params.Authorization ?? params.authorization;
    const ip = request.socket.remoteAddress ?? "unknown";
    if (typeof authorization !== "string" || authorization === "") {
      socket.close(CloseCode.Unauthorized, "Unauthorized: connection_init needs an Authorization bearer token");
      return null;
    }
    let principal: Principal | null;
    try {
      principal = await this.authenticator.admit(authorization, ip);
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.UNAUTHENTICATED) {
        socket.close(CloseCode.Unauthorized, reason(`Unauthorized: ${err.message}`));
      } else if (
        err instanceof AppError &&
        (err.code === ErrorCode.RATE_LIMITED || err.code === ErrorCode.QUOTA_EXCEEDED)
      ) {
        this.metrics.rateLimited.inc({ code: err.code });
        const retryAfter = (err.extensions.details as { retryAfter?: number } | undefined)?.retryAfter ?? 1;
        socket.close(CLOSE_RATE_LIMITED, reason(`${err.code}: ${err.message}; retry after ${retryAfter}s`));
      } else {
        // The database or Redis is down: 1013 Try Again Later, which clients retry.
        this.logger.error({ err }, "subscription connection failed");
        socket.close(1013, "SERVICE_UNAVAILABLE: retry later");
      }
      return null;
    }
    if (!principal) {
      socket.close(CloseCode.Unauthorized, "Unauthorized");
      return null;
    }
    const given = request.headers["x-request-id"];
    return {
      id: typeof given === "string" && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID(),
      authorization,
      principal,
      ip,
    };
  }

  /** Checks the credentials again; closes the socket with 4401 (and returns null) when they are no longer valid. */
  async reauthenticate(connection: AuthenticatedConnection, socket: WebSocket): Promise<Principal | null> {
    try {
      // A re-check of the credentials the connection was accepted with: not counted as a failure.
      const principal = await this.authenticator.verify(connection.authorization);
      if (principal) connection.principal = principal;
      return principal;
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.UNAUTHENTICATED) {
        socket.close(CloseCode.Unauthorized, reason(`Unauthorized: ${err.message}`));
        return null;
      }
      // The database is down: keep the connection; the subgraphs decide what still works.
      this.logger.warn({ err, connection: connection.id }, "could not re-authenticate a subscription connection");
      return connection.principal;
    }
  }

  /** Counts a subscription against the limits; the refusal as an error to send, or null. */
  async admit(connection: AuthenticatedConnection, principal: Principal): Promise<AppError | null> {
    try {
      await this.limits.consume(principal, connection.ip);
      return null;
    } catch (err) {
      if (err instanceof AppError) {
        if (err.code === ErrorCode.RATE_LIMITED || err.code === ErrorCode.QUOTA_EXCEEDED) {
          this.metrics.rateLimited.inc({ code: err.code });
        }
        return err;
      }
      throw err;
    }
  }
}
