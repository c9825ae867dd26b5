/**
 * Text that an MCP server controls (error bodies, serverInfo, instructions, titles) is bounded
 * before we store it, return it or publish it: a hostile server must not be able to write
 * megabytes into a row, a response or an event.
 */

/** Longest remote text we keep, in characters (UTF-16 code units), marker included. */
export const MAX_REMOTE_TEXT_CHARS = 1000;

const MARKER = "…";

/**
 * `text` cut to at most `max` characters (a cut one ends with "…"), never splitting a
 * surrogate pair, with NUL characters replaced (PostgreSQL text and jsonb refuse them).
 */
export function truncateRemoteText(text: string, max = MAX_REMOTE_TEXT_CHARS): string {
  const clean = text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
  if (clean.length <= max) return clean;
  let end = max - MARKER.length;
  const last = clean.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1; // a high surrogate whose pair would be cut off
  return `${clean.slice(0, end)}${MARKER}`;
}

/** `truncateRemoteText` for optional text. */
export function truncateOptionalRemoteText(text: string | null | undefined): string | null {
  return typeof text === "string" ? truncateRemoteText(text) : null;
}

/** Nodes (values, keys included) a bounded JSON value keeps; the rest is dropped. */
const MAX_JSON_NODES = 500;
/** Nesting kept; deeper values are dropped. */
const MAX_JSON_DEPTH = 8;

/**
 * A copy of a remote JSON value (serverInfo, server capabilities) with every string truncated
 * and at most a few hundred values kept, so its stored and returned size stays small whatever
 * the server sent. Non-JSON values become null.
 */
export function boundRemoteJson(value: unknown): unknown {
  let budget = MAX_JSON_NODES;
  const visit = (v: unknown, depth: number): unknown => {
    budget -= 1;
    if (typeof v === "string") return truncateRemoteText(v);
    if (typeof v === "number") return Number.isFinite(v) ? v : null;
    if (typeof v === "boolean" || v === null) return v;
    if (depth >= MAX_JSON_DEPTH) return null;
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (const item of v) {
        if (budget <= 0) break;
        out.push(visit(item, depth + 1));
      }
      return out;
    }
    if (typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v as Record<string, unknown>)) {
        if (budget <= 1) break;
        budget -= 1;
        out[truncateRemoteText(key, 100)] = visit(item, depth + 1);
      }
      return out;
    }
    return null;
  };
  return visit(value, 0);
}
