import { sign, verify } from "node:crypto";
import { canonicalize } from "json-canonicalize";
import type { KeyRing } from "../auth/keys";
import type { AuditAnchor, Db } from "../db/prisma";
import { type AuditVerification, type ChainPoint, walkAuditChain } from "./audit";

/**
 * Anchors of the audit chain. The hash chain proves that no entry was changed or removed from
 * the middle, but not that the newest ones were not cut off: a shorter chain is still a valid
 * chain. An anchor is a signed statement "organization O's chain reached entry `seq` with
 * `hash` at `signedAt`", written on a schedule and on verification; once an anchor names an
 * entry, a log that no longer ends at or after it is reported broken. Anchors are signed with
 * the deployment's ES256 key (the JWT key ring, whose public key is published in the JWKS), so
 * neither the application's database role nor an operator who can write rows can forge one.
 */

interface AnchorFields {
  organizationId: string;
  seq: bigint;
  hash: string;
  signedAt: Date;
}

/** What is signed: canonical JSON with its own type, so it can never be read as a JWT or anything else we sign. */
function anchorMessage(a: AnchorFields): Buffer {
  return Buffer.from(
    canonicalize({
      type: "sprintconnect.audit-anchor.v1",
      organizationId: a.organizationId,
      seq: a.seq.toString(),
      hash: a.hash,
      signedAt: a.signedAt.toISOString(),
    }),
  );
}

/** Signs an anchor with the deployment's key; the signature is base64url ES256 (IEEE P1363). */
export function signAuditAnchor(keys: KeyRing, fields: AnchorFields): { keyId: string; signature: string } {
  const signature = sign("sha256", anchorMessage(fields), { key: keys.privateKey, dsaEncoding: "ieee-p1363" });
  return { keyId: keys.kid, signature: signature.toString("base64url") };
}

/** Why an anchor's signature cannot be trusted, or null when it is this deployment's valid signature. */
function signatureProblem(keys: KeyRing, anchor: AuditAnchor): string | null {
  const at = anchor.signedAt.toISOString();
  if (anchor.keyId !== keys.kid) {
    return `the anchor of entry ${anchor.seq} (signed ${at}) names key ${anchor.keyId}, not this deployment's key`;
  }
  let valid = false;
  try {
    valid = verify(
      "sha256",
      anchorMessage(anchor),
      { key: keys.publicKey, dsaEncoding: "ieee-p1363" },
      Buffer.from(anchor.signature, "base64url"),
    );
  } catch {
    valid = false;
  }
  return valid ? null : `the anchor of entry ${anchor.seq} (signed ${at}) does not carry a valid signature`;
}

/** The anchor with the highest seq: the furthest point the chain is known to have reached. */
function newestAnchor(db: Db, organizationId: string): Promise<AuditAnchor | null> {
  return db.auditAnchor.findFirst({ where: { organizationId }, orderBy: { seq: "desc" } });
}

/**
 * Why the log no longer matches `anchor` — a bad signature, entries missing up to the anchored
 * one, or a different entry in its place — or null when the anchored entry is still there.
 */
async function anchorProblem(
  db: Db,
  keys: KeyRing,
  anchor: AuditAnchor,
): Promise<{ firstBadSeq: string; reason: string } | null> {
  const signature = signatureProblem(keys, anchor);
  if (signature) return { firstBadSeq: anchor.seq.toString(), reason: signature };
  const { organizationId, seq } = anchor;
  const at = anchor.signedAt.toISOString();
  const entry = await db.auditLog.findUnique({
    where: { organizationId_seq: { organizationId, seq } },
    select: { hash: true },
  });
  if (!entry) {
    const last = await db.auditLog.findFirst({
      where: { organizationId },
      orderBy: { seq: "desc" },
      select: { seq: true },
    });
    const end = last?.seq ?? 0n;
    return {
      firstBadSeq: (end + 1n).toString(),
      reason: `entries ${end + 1n} to ${seq} are missing: the log ends at entry ${end}, but an anchor signed ${at} covers entry ${seq}`,
    };
  }
  if (entry.hash !== anchor.hash) {
    return { firstBadSeq: seq.toString(), reason: `entry ${seq} is not the one anchored ${at}` };
  }
  return null;
}

/** Signs and stores an anchor of `head` (nothing for an empty chain); returns the stored anchor of that entry. */
async function writeAnchor(
  db: Db,
  keys: KeyRing,
  organizationId: string,
  head: ChainPoint,
): Promise<AuditAnchor | null> {
  if (head.seq === 0n) return null;
  const fields: AnchorFields = { organizationId, seq: head.seq, hash: head.hash, signedAt: new Date() };
  // A concurrent verification or scheduler may anchor the same entry: the first one stays.
  await db.auditAnchor.createMany({ data: [{ ...fields, ...signAuditAnchor(keys, fields) }], skipDuplicates: true });
  return db.auditAnchor.findUnique({ where: { organizationId_seq: { organizationId, seq: head.seq } } });
}

/** The result of verifying an organization's audit log: the chain and its newest anchor. */
export interface AuditLogVerification extends AuditVerification {
  /** The entry the newest anchor covers after this verification (which anchors an intact log's head). */
  anchoredSeq: string | null;
  /** When that anchor was signed. */
  anchoredAt: Date | null;
}

function anchoredAs(anchor: AuditAnchor | null): Pick<AuditLogVerification, "anchoredSeq" | "anchoredAt"> {
  return { anchoredSeq: anchor ? anchor.seq.toString() : null, anchoredAt: anchor ? anchor.signedAt : null };
}

/**
 * Verifies an organization's audit log: recomputes the hash chain, checks that the newest
 * anchor is validly signed and that its entry is still in the log, unchanged (so cutting off
 * the newest entries is detected), and then anchors the verified head. A broken log is never
 * anchored.
 */
export async function verifyAuditLog(db: Db, keys: KeyRing, organizationId: string): Promise<AuditLogVerification> {
  // The anchor is read before the chain: one written meanwhile could name entries the walk did not reach.
  const anchor = await newestAnchor(db, organizationId);
  const { result, head } = await walkAuditChain(db, organizationId);
  if (!result.ok) return { ...result, ...anchoredAs(anchor) };
  if (anchor) {
    const problem = await anchorProblem(db, keys, anchor);
    if (problem) {
      const entries = Math.min(result.entries, Number(problem.firstBadSeq) - 1);
      return { ok: false, entries, ...problem, ...anchoredAs(anchor) };
    }
    if (anchor.seq >= head.seq) return { ...result, ...anchoredAs(anchor) };
  }
  return { ...result, ...anchoredAs(await writeAnchor(db, keys, organizationId, head)) };
}

/** What anchoring one organization's head did. */
export type AnchorOutcome =
  | { status: "anchored"; anchor: AuditAnchor }
  | { status: "unchanged" }
  /** The log no longer extends its newest anchor (or is broken after it): nothing is signed. */
  | { status: "refused"; firstBadSeq: string; reason: string };

/**
 * Anchors an organization's head if it moved past the newest anchor. Only what came after that
 * anchor is re-verified (the anchored entry itself is checked), so a log whose newest entries
 * were cut off is refused rather than anchored at its new, shorter end.
 */
export async function anchorAuditHead(db: Db, keys: KeyRing, organizationId: string): Promise<AnchorOutcome> {
  const previous = await newestAnchor(db, organizationId);
  if (previous) {
    const problem = await anchorProblem(db, keys, previous);
    if (problem) return { status: "refused", ...problem };
  }
  const from = previous ? { seq: previous.seq, hash: previous.hash } : undefined;
  const { result, head } = await walkAuditChain(db, organizationId, from);
  if (!result.ok) return { status: "refused", firstBadSeq: result.firstBadSeq ?? "", reason: result.reason ?? "" };
  if (previous && head.seq <= previous.seq) return { status: "unchanged" };
  const anchor = await writeAnchor(db, keys, organizationId, head);
  return anchor ? { status: "anchored", anchor } : { status: "unchanged" };
}

const PAGE = 500;
const NO_ORGANIZATION = "00000000-0000-0000-0000-000000000000";

/** Anchors the head of every organization whose log grew since its newest anchor (the scheduler's job). */
export async function anchorAuditHeads(
  db: Db,
  keys: KeyRing,
): Promise<Array<{ organizationId: string } & AnchorOutcome>> {
  const outcomes: Array<{ organizationId: string } & AnchorOutcome> = [];
  let after = NO_ORGANIZATION;
  for (;;) {
    const page = await db.$queryRaw<Array<{ organizationId: string }>>`
      SELECT o.id::text AS "organizationId" FROM "Organization" o
       WHERE o.id > ${after}::uuid
         AND EXISTS (SELECT 1 FROM "AuditLog" l
                      WHERE l."organizationId" = o.id
                        AND l.seq > COALESCE((SELECT max(a.seq) FROM "AuditAnchor" a WHERE a."organizationId" = o.id), 0))
       ORDER BY o.id LIMIT ${PAGE}`;
    for (const { organizationId } of page) {
      outcomes.push({ organizationId, ...(await anchorAuditHead(db, keys, organizationId)) });
    }
    if (page.length < PAGE) return outcomes;
    after = page[page.length - 1]?.organizationId ?? after;
  }
}
