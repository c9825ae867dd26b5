import type { ApolloServer } from "@apollo/server";
import { ErrorCode, normalizeErrorCode, type Outputs } from "@sprintconnect/core";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { GraphQLSchema } from "graphql";
import type { ErrorReplier } from "../app";
import type { GatewayContext } from "../graphql";
import { csvField } from "./chat-export";
import { DOWNLOAD_ERRORS, errorResponses, startDownload } from "./download";
import { resultSchema } from "./openapi";

/** The export's own path; `GET /v1/audit/logs?format=…` is routed here too (see {@link auditExportUrl}). */
export const AUDIT_EXPORT_PATH = "/v1/audit/logs/export";

const FORMATS = {
  json: "application/json; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  ndjson: "application/x-ndjson; charset=utf-8",
} as const;
type Format = keyof typeof FORMATS;

/** The filters of `GET /v1/audit/logs`, which an export takes too. */
const FILTERS = ["action", "targetId", "actorId", "from", "to"] as const;

const START = `mutation ExportAuditLog($format: AuditExportFormat!, $action: String, $targetId: String, $actorId: String, $from: DateTimeISO, $to: DateTimeISO) {
  exportAuditLog(format: $format, action: $action, targetId: $targetId, actorId: $actorId, from: $from, to: $to) {
    id format rows throughSeq action targetId actorId from to
  }
}`;

const PAGE = `query AuditLogExportPage($exportId: ID!, $cursor: String) {
  auditLogExportPage(exportId: $exportId, cursor: $cursor) {
    items { id seq actorType actorId action targetType targetId requestId ip data prevHash hash createdAt }
    nextCursor
  }
}`;

/** Columns of the CSV export, one row per entry; `data` as JSON. */
export const AUDIT_CSV_COLUMNS = [
  "seq",
  "id",
  "createdAt",
  "actorType",
  "actorId",
  "action",
  "targetType",
  "targetId",
  "requestId",
  "ip",
  "data",
  "prevHash",
  "hash",
] as const;

type Entry = Record<(typeof AUDIT_CSV_COLUMNS)[number], unknown>;
type Started = { id: string; rows: number } & Record<string, unknown>;
type ExportPage = { auditLogExportPage: { items: Entry[]; nextCursor: string | null } };

/**
 * Fastify's `rewriteUrl`: `GET /v1/audit/logs` with a `format` parameter is the export; without
 * one it stays the route table's JSON page (`listAuditLogs`).
 */
export function auditExportUrl(method: string | undefined, url: string): string {
  if (method !== "GET" || !url.startsWith("/v1/audit/logs?")) return url;
  const query = url.slice("/v1/audit/logs?".length);
  return new URLSearchParams(query).has("format") ? `${AUDIT_EXPORT_PATH}?${query}` : url;
}

/** The export's entry in `/v1/openapi.json`; the entry schema is the one `auditLogs` returns. */
export function auditExportOpenApi(schema: GraphQLSchema): Record<string, Record<string, unknown>> {
  const page = resultSchema(schema, PAGE) as { properties?: { items?: { items?: unknown } } };
  const entry = page.properties?.items?.items ?? { type: "object" };
  const string = { type: "string" };
  return {
    [AUDIT_EXPORT_PATH]: {
      get: {
        operationId: "exportAuditLogs",
        summary:
          "The filtered audit log as one download, streamed page by page and recorded as an audit entry of its own (`audit.exported`); also served at GET /v1/audit/logs?format=…",
        tags: ["Administration"],
        parameters: [
          {
            name: "format",
            in: "query",
            required: false,
            schema: { type: "string", enum: Object.keys(FORMATS), default: "json" },
          },
          ...FILTERS.map((name) => ({
            name,
            in: "query",
            required: false,
            schema: name === "from" || name === "to" ? { type: "string", format: "date-time" } : string,
          })),
        ],
        responses: {
          "200": {
            description:
              "Matching entries, newest first, up to the export's own entry. Headers: x-audit-export-id (the export's audit entry), x-audit-export-rows",
            content: {
              [FORMATS.json]: {
                schema: {
                  type: "object",
                  required: ["export", "items"],
                  properties: { export: { type: "object" }, items: { type: "array", items: entry } },
                },
              },
              [FORMATS.ndjson]: { schema: { type: "string", description: "One entry (JSON) per line" } },
              [FORMATS.csv]: {
                schema: { type: "string", description: `One row per entry; columns: ${AUDIT_CSV_COLUMNS.join(", ")}` },
              },
            },
          },
          ...errorResponses(DOWNLOAD_ERRORS),
        },
      },
    },
  };
}

/**
 * `GET /v1/audit/logs/export?format=json|csv|ndjson&action=…&targetId=…&actorId=…&from=…&to=…`:
 * records the export (`exportAuditLog`, which also counts its rows), then streams its pages
 * (`auditLogExportPage`, 1,000 entries each) through the gateway's own GraphQL, writing each
 * before the next is read: memory holds one page, whatever the size of the log.
 */
export function registerAuditExport(
  app: FastifyInstance,
  apollo: ApolloServer<GatewayContext>,
  contextOf: (request: FastifyRequest) => GatewayContext,
  replyError: ErrorReplier,
  outputs: Outputs,
): void {
  const run = async <T>(
    request: FastifyRequest,
    query: string,
    variables: Record<string, unknown>,
  ): Promise<
    | { data: T; error?: undefined }
    | { data?: undefined; error: { code: ErrorCode; message: string; details?: Record<string, unknown> | undefined } }
  > => {
    const response = await apollo.executeOperation({ query, variables }, { contextValue: contextOf(request) });
    if (response.body.kind !== "single") throw new Error("unexpected incremental result");
    const { data, errors } = response.body.singleResult;
    const first = errors?.[0];
    if (first) {
      const details = first.extensions?.details as Record<string, unknown> | undefined;
      return { error: { code: normalizeErrorCode(first.extensions?.code), message: first.message, details } };
    }
    return { data: data as T };
  };

  app.get(AUDIT_EXPORT_PATH, async (request, reply) => {
    if (!request.principal) return replyError(ErrorCode.UNAUTHENTICATED, "Authentication required", request, reply);
    const query = request.query as Record<string, unknown>;
    const format = query.format ?? "json";
    const unknown = Object.keys(query).filter((k) => k !== "format" && !(FILTERS as readonly string[]).includes(k));
    const repeated = Object.values(query).some((v) => typeof v !== "string");
    if (unknown.length > 0 || repeated || typeof format !== "string" || !(format in FORMATS)) {
      return replyError(
        ErrorCode.BAD_REQUEST,
        `format must be json, csv or ndjson; filters: ${FILTERS.join(", ")} (each once)${unknown.length ? `; unknown: ${unknown.join(", ")}` : ""}`,
        request,
        reply,
      );
    }
    const filters = Object.fromEntries(FILTERS.flatMap((k) => (query[k] === undefined ? [] : [[k, query[k]]])));
    const started = await run<{ exportAuditLog: Started }>(request, START, { format, ...filters });
    if (started.error) {
      const { code, message, details } = started.error;
      return replyError(code, message, request, reply, details);
    }
    const { exportAuditLog: meta } = started.data;
    const download = startDownload(request, reply, {
      contentType: FORMATS[format as Format],
      filename: `audit-log-${meta.id}.${format}`,
      headers: { "x-audit-export-id": meta.id, "x-audit-export-rows": String(meta.rows) },
    });
    // The same bytes land in outputs/<timestamp>/audit-exports/ (and S3 when configured).
    const file = await outputs.open("audit-exports", `audit-log-${meta.id}.${format}`);
    const emit = async (text: string) => {
      await file.write(text);
      await download.write(text);
    };
    const line = (entry: Entry, index: number): string => {
      if (format === "csv") return `${AUDIT_CSV_COLUMNS.map((c) => csvField(entry[c])).join(",")}\r\n`;
      if (format === "ndjson") return `${JSON.stringify(entry)}\n`;
      return `${index > 0 ? "," : ""}${JSON.stringify(entry)}`;
    };
    try {
      if (format === "json") await emit(`{"export":${JSON.stringify(meta)},"items":[`);
      if (format === "csv") await emit(`${AUDIT_CSV_COLUMNS.join(",")}\r\n`);
      const nextPage = async (cursor: string | null): Promise<ExportPage["auditLogExportPage"]> => {
        const page = await run<ExportPage>(request, PAGE, { exportId: meta.id, cursor });
        if (page.error) throw new Error(`audit export page failed: ${page.error.code}`);
        return page.data.auditLogExportPage;
      };
      let written = 0;
      let cursor: string | null = null;
      do {
        const { items, nextCursor } = await nextPage(cursor);
        // One write per page: fewer, larger chunks than one per entry.
        await emit(items.map((entry, i) => line(entry, written + i)).join(""));
        written += items.length;
        cursor = nextCursor;
      } while (cursor);
      if (format === "json") await emit("]}");
      await file.commit();
      download.end();
    } catch (err) {
      request.log.error({ err }, "audit export failed");
      await file.abort();
      download.abort();
    }
    return reply;
  });
}
