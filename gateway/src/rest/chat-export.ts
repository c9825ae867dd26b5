import type { ApolloServer } from "@apollo/server";
import { ErrorCode, normalizeErrorCode, type Outputs } from "@sprintconnect/core";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { GraphQLSchema } from "graphql";
import type { ErrorReplier } from "../app";
import type { GatewayContext } from "../graphql";
import { DOWNLOAD_ERRORS, errorResponses, startDownload } from "./download";
import { resultSchema } from "./openapi";

const PAGE = 500;

const DOCUMENT = `query ChatExport($id: ID!, $limit: Int, $cursor: String) {
  chatSession(id: $id) {
    id title serverIds model createdAt
    messages(limit: $limit, cursor: $cursor) {
      items {
        id turnId role content status model inputTokens outputTokens cachedTokens costUsd toolCallId createdAt
        toolCalls { id turnId messageId serverId toolName arguments result resultTruncated status durationMs error createdAt finishedAt }
      }
      nextCursor
    }
  }
}`;

/** Columns of the CSV export, one row per message; tool calls as JSON in their column. */
export const CSV_COLUMNS = [
  "id",
  "turnId",
  "role",
  "status",
  "createdAt",
  "model",
  "inputTokens",
  "outputTokens",
  "cachedTokens",
  "costUsd",
  "toolCallId",
  "content",
  "toolCalls",
] as const;

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; formula-like text is prefixed with '. */
export function csvField(value: unknown): string {
  let text = value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  // Spreadsheets run cells that start with = + - @ as formulas (CSV injection).
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

type Message = Record<(typeof CSV_COLUMNS)[number], unknown>;

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema };

/** The export's entry in `/v1/openapi.json`: the JSON body is described from the same types as the operation it pages through. */
export function chatExportOpenApi(schema: GraphQLSchema): Record<string, Record<string, unknown>> {
  const session = resultSchema(schema, DOCUMENT) as Schema;
  const { messages, ...fields } = session.properties ?? {};
  const message = messages?.properties?.items?.items ?? { type: "object" };
  return {
    "/v1/chat/sessions/{id}/export": {
      get: {
        operationId: "exportChatSession",
        summary:
          "The whole conversation as one JSON document or CSV file (streamed; also written to outputs/…/chat-exports/)",
        tags: ["Chat"],
        parameters: [
          { name: "id", in: "path", required: true, schema: { type: "string" } },
          {
            name: "format",
            in: "query",
            required: false,
            schema: { type: "string", enum: ["json", "csv"], default: "json" },
          },
        ],
        responses: {
          "200": {
            description: "The conversation, oldest message first",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["session", "messages"],
                  properties: {
                    session: { type: "object", properties: fields, required: Object.keys(fields) },
                    messages: { type: "array", items: message },
                  },
                },
              },
              "text/csv": {
                schema: { type: "string", description: `One row per message; columns: ${CSV_COLUMNS.join(", ")}` },
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
 * `GET /v1/chat/sessions/{id}/export?format=json|csv`: the whole conversation, streamed page
 * by page as it is read (through the same GraphQL operation and authorization as the rest of
 * the API), and the same file written to `outputs/<timestamp>/chat-exports/`.
 */
export function registerChatExport(
  app: FastifyInstance,
  apollo: ApolloServer<GatewayContext>,
  contextOf: (request: FastifyRequest) => GatewayContext,
  replyError: ErrorReplier,
  outputs: Outputs,
): void {
  app.get("/v1/chat/sessions/:id/export", async (request, reply) => {
    if (!request.principal) return replyError(ErrorCode.UNAUTHENTICATED, "Authentication required", request, reply);
    const { id } = request.params as { id: string };
    const query = request.query as Record<string, unknown>;
    const unknown = Object.keys(query).filter((k) => k !== "format");
    const format = query.format ?? "json";
    if (unknown.length > 0 || (format !== "json" && format !== "csv")) {
      return replyError(ErrorCode.BAD_REQUEST, "format must be json or csv (and no other parameter)", request, reply);
    }
    const page = async (cursor: string | null) => {
      const response = await apollo.executeOperation(
        { query: DOCUMENT, variables: { id, limit: PAGE, cursor } },
        { contextValue: contextOf(request) },
      );
      if (response.body.kind !== "single") throw new Error("unexpected incremental result");
      const { data, errors } = response.body.singleResult;
      const first = errors?.[0];
      if (first) return { error: { code: normalizeErrorCode(first.extensions?.code), message: first.message } };
      const session = (
        data as { chatSession: Record<string, unknown> & { messages: { items: Message[]; nextCursor: string | null } } }
      ).chatSession;
      return { session };
    };

    // The first page decides the status: errors before anything is sent are ordinary replies.
    const first = await page(null);
    if (first.error) return replyError(first.error.code, first.error.message, request, reply);
    const { messages, ...session } = first.session;
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const file = await outputs.open("chat-exports", `${session.id}-${stamp}.${format}`);
    const header =
      format === "json" ? `{"session":${JSON.stringify(session)},"messages":[` : `${CSV_COLUMNS.join(",")}\r\n`;
    const download = startDownload(request, reply, {
      contentType: format === "json" ? "application/json; charset=utf-8" : "text/csv; charset=utf-8",
      filename: `chat-${session.id}.${format}`,
    });
    let written = 0;
    const emit = async (text: string) => {
      await file.write(text);
      await download.write(text);
    };
    const emitPage = async (items: Message[]) => {
      for (const message of items) {
        if (format === "json") await emit(`${written > 0 ? "," : ""}${JSON.stringify(message)}`);
        else await emit(`${CSV_COLUMNS.map((c) => csvField(message[c])).join(",")}\r\n`);
        written += 1;
      }
    };
    try {
      await emit(header);
      await emitPage(messages.items);
      let cursor = messages.nextCursor;
      while (cursor) {
        const next = await page(cursor);
        if (next.error) throw new Error(`export page failed: ${next.error.code}`);
        await emitPage(next.session.messages.items);
        cursor = next.session.messages.nextCursor;
      }
      if (format === "json") await emit("]}");
      await file.commit();
      download.end();
    } catch (err) {
      // Headers are gone: end the stream short (the client sees an incomplete body) and keep no file.
      request.log.error({ err }, "chat export failed");
      await file.abort();
      download.abort();
    }
    return reply;
  });
}
