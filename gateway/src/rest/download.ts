import { ErrorCode, HTTP_STATUS } from "@sprintconnect/core";
import type { FastifyReply, FastifyRequest } from "fastify";

/** A streamed file download that has sent its status and headers. */
export interface Download {
  /** Sends `text`, waiting while the client is slower than we are (memory stays bounded). */
  write(text: string): Promise<void>;
  end(): void;
  /** Ends the response short (headers are gone: the client sees an incomplete body). */
  abort(): void;
}

/**
 * Starts a download: status 200 with its headers, then the body as it is produced, page by page.
 * Errors before this call are ordinary error replies; after it, only `abort` remains.
 */
export function startDownload(
  request: FastifyRequest,
  reply: FastifyReply,
  head: { contentType: string; filename: string; headers?: Record<string, string> },
): Download {
  reply.hijack();
  reply.raw.writeHead(200, {
    "content-type": head.contentType,
    "content-disposition": `attachment; filename="${head.filename}"`,
    "x-request-id": request.id,
    ...head.headers,
  });
  return {
    async write(text) {
      if (!reply.raw.write(text)) await new Promise((resolve) => reply.raw.once("drain", resolve));
    },
    end: () => reply.raw.end(),
    abort: () => reply.raw.destroy(),
  };
}

/** OpenAPI responses (the shared Error body) for each of `codes`. */
export function errorResponses(codes: ErrorCode[]): Record<string, unknown> {
  return Object.fromEntries(
    codes.map((code) => [
      String(HTTP_STATUS[code]),
      { description: code, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
    ]),
  );
}

/** The usual errors of an authenticated download. */
export const DOWNLOAD_ERRORS = [
  ErrorCode.BAD_REQUEST,
  ErrorCode.UNAUTHENTICATED,
  ErrorCode.FORBIDDEN,
  ErrorCode.NOT_FOUND,
  ErrorCode.RATE_LIMITED,
];
