import { z } from "zod";
import { badRequest } from "./errors";

const cursorSchema = z.object({ t: z.iso.datetime(), id: z.uuid() }).strict();

/** Position after one row of a list ordered by (createdAt desc, id desc). */
export interface CursorPosition {
  createdAt: Date;
  id: string;
}

/** Opaque cursor for keyset pagination. */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify({ t: position.createdAt.toISOString(), id: position.id })).toString("base64url");
}

/** Decodes a cursor from `encodeCursor`; anything else is BAD_REQUEST. */
export function decodeCursor(cursor: string): CursorPosition {
  try {
    const parsed = cursorSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    return { createdAt: new Date(parsed.t), id: parsed.id };
  } catch {
    throw badRequest("Invalid cursor", { field: "cursor" });
  }
}

/** Clamps a requested page size. */
export function pageSize(limit: number | null | undefined, max = 100, fallback = 20): number {
  if (limit === null || limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw badRequest(`limit must be an integer from 1 to ${max}`, { field: "limit" });
  }
  return limit;
}

/** Given `limit + 1` rows, the page and the cursor of the next one. */
export function toPage<T extends { createdAt: Date; id: string }>(
  rows: T[],
  limit: number,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

/** Prisma `where` fragment for rows after `cursor` in (createdAt desc, id desc) order. */
export function afterCursor(cursor: string | null | undefined) {
  if (!cursor) return {};
  const { createdAt, id } = decodeCursor(cursor);
  return { OR: [{ createdAt: { lt: createdAt } }, { createdAt, id: { lt: id } }] };
}

const offsetSchema = z.object({ o: z.number().int().min(0).max(100_000) }).strict();

/** Opaque cursor for ranked lists (search), where keyset pagination has no stable key. */
export function encodeOffsetCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString("base64url");
}

/** Decodes `encodeOffsetCursor`; anything else is BAD_REQUEST. No cursor is offset 0. */
export function decodeOffsetCursor(cursor: string | null | undefined): number {
  if (!cursor) return 0;
  try {
    return offsetSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))).o;
  } catch {
    throw badRequest("Invalid cursor", { field: "cursor" });
  }
}
