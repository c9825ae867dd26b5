import { randomUUID } from "node:crypto";
import type { Db, McpCapability, McpServer, OutboxEvent, Prisma } from "@sprintconnect/core";
import type { DiscoveredCapability } from "@sprintconnect/mcp";

export type ChangeType = "added" | "changed" | "removed";

export interface AppliedChange {
  capabilityId: string;
  kind: McpCapability["kind"];
  name: string;
  changeType: ChangeType;
  previousHash: string | null;
  newHash: string | null;
  reviewRequired: boolean;
}

const key = (kind: string, name: string) => `${kind}\u0000${name}`;

/**
 * Kinds whose definitions are held for review when they change or appear: tools are what an
 * agent runs, and tool poisoning and rug pulls arrive as a new or changed tool definition.
 */
const REVIEWED_KINDS: ReadonlySet<McpCapability["kind"]> = new Set(["tool"]);

export interface ReviewPolicy {
  /**
   * Whether tools that appear — new, or back after being removed — are held for review. True
   * after a server's first discovery when the organization's `holdNewCapabilitiesForReview`
   * is on; the first discovery is the baseline a person registered.
   */
  holdNew: boolean;
}

/**
 * Stores one discovery's capabilities against the last: new ones are added, ones whose
 * definition hash differs are changed, missing ones are marked removed, and removed ones that
 * reappear are added again. A changed tool is always held for review (`reviewRequired`); an
 * added or re-added tool is held when `policy.holdNew` says so, and a re-added one whose
 * definition differs from the one that was removed, or that was still waiting for review when
 * it left, is held whatever the policy (coming back must not launder a change). Unique
 * (server, kind, name) keeps every capability stored once, however often a discovery is
 * repeated. Runs inside the caller's transaction.
 */
export async function applyDiscovery(
  tx: Db,
  server: Pick<McpServer, "id" | "organizationId">,
  items: DiscoveredCapability[],
  runId: string,
  policy: ReviewPolicy,
  now = new Date(),
): Promise<AppliedChange[]> {
  const existing = new Map(
    (await tx.mcpCapability.findMany({ where: { serverId: server.id } })).map((c) => [key(c.kind, c.name), c]),
  );
  const changes: AppliedChange[] = [];
  const creates: Prisma.McpCapabilityCreateManyInput[] = [];
  const seen = new Set<string>();

  for (const item of items) {
    const k = key(item.kind, item.name);
    seen.add(k);
    const fields = {
      title: item.title,
      description: item.description,
      inputSchema: (item.inputSchema ?? undefined) as object | undefined,
      definition: item.definition as object,
      definitionHash: item.definitionHash,
    };
    const current = existing.get(k);
    const reviewed = REVIEWED_KINDS.has(item.kind);
    if (!current) {
      const id = randomUUID();
      const reviewRequired = reviewed && policy.holdNew;
      creates.push({
        id,
        organizationId: server.organizationId,
        serverId: server.id,
        kind: item.kind,
        name: item.name,
        ...fields,
        reviewRequired,
      });
      changes.push(change(id, item, "added", null, reviewRequired));
    } else if (current.removedAt) {
      const reviewRequired =
        current.reviewRequired || (reviewed && (policy.holdNew || current.definitionHash !== item.definitionHash));
      await tx.mcpCapability.update({
        where: { id: current.id },
        data: { ...fields, removedAt: null, reviewRequired, updatedAt: now },
      });
      changes.push(change(current.id, item, "added", null, reviewRequired));
    } else if (current.definitionHash !== item.definitionHash) {
      const reviewRequired = reviewed || current.reviewRequired;
      await tx.mcpCapability.update({ where: { id: current.id }, data: { ...fields, reviewRequired, updatedAt: now } });
      changes.push(change(current.id, item, "changed", current.definitionHash, reviewRequired));
    }
  }
  if (creates.length > 0) await tx.mcpCapability.createMany({ data: creates });

  const removed = [...existing.values()].filter((c) => !c.removedAt && !seen.has(key(c.kind, c.name)));
  if (removed.length > 0) {
    await tx.mcpCapability.updateMany({ where: { id: { in: removed.map((c) => c.id) } }, data: { removedAt: now } });
    for (const c of removed) {
      changes.push({
        capabilityId: c.id,
        kind: c.kind,
        name: c.name,
        changeType: "removed",
        previousHash: c.definitionHash,
        newHash: null,
        reviewRequired: c.reviewRequired,
      });
    }
  }
  if (changes.length > 0) {
    await tx.mcpCapabilityChange.createMany({
      data: changes.map((c) => ({
        organizationId: server.organizationId,
        serverId: server.id,
        capabilityId: c.capabilityId,
        discoveryRunId: runId,
        kind: c.kind,
        name: c.name,
        changeType: c.changeType,
        previousHash: c.previousHash,
        newHash: c.newHash,
        createdAt: now,
      })),
    });
  }
  return changes;
}

function change(
  capabilityId: string,
  item: DiscoveredCapability,
  changeType: ChangeType,
  previousHash: string | null,
  reviewRequired: boolean,
): AppliedChange {
  return {
    capabilityId,
    kind: item.kind,
    name: item.name,
    changeType,
    previousHash,
    newHash: item.definitionHash,
    reviewRequired,
  };
}

/** The outbox events of the changes, in the payload shape subscribers receive. */
export function changeEvents(
  server: Pick<McpServer, "id" | "organizationId" | "name" | "environment" | "tags">,
  changes: AppliedChange[],
): OutboxEvent[] {
  return changes.map((c) => ({
    organizationId: server.organizationId,
    type: `capability.${c.changeType}` as OutboxEvent["type"],
    aggregateId: c.capabilityId,
    payload: {
      serverId: server.id,
      serverName: server.name,
      environment: server.environment,
      tags: server.tags,
      capabilityId: c.capabilityId,
      name: c.name,
      kind: c.kind,
      changeType: c.changeType.toUpperCase(),
      definitionHash: c.newHash,
      previousHash: c.previousHash,
      reviewRequired: c.reviewRequired,
    },
  }));
}
