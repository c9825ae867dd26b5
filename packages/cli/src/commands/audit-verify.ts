import { createKeyRing, resolveKeys, verifyAuditLog } from "@sprintconnect/core";
import { parseOptions, required, uuid } from "../args";
import { CliError } from "../cli-error";
import { connect, loadEnv } from "../config";
import { out } from "../output";

/**
 * `audit verify --org <id> [--json]`: recomputes the chain, checks that the log still reaches its
 * newest signed anchor, and anchors an intact log's head. Exit code 0 when intact, 1 when broken.
 */
export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args, { org: { type: "string" }, json: { type: "boolean" } });
  const organizationId = uuid(required(options.org, "--org"), "--org");
  const env = loadEnv();
  const keys = await createKeyRing(resolveKeys(env).jwtPrivateJwk);
  const db = connect(env);
  try {
    const organization = await db.organization.findUnique({ where: { id: organizationId }, select: { id: true } });
    if (!organization) throw new CliError(`Organization ${organizationId} not found`);
    const result = await verifyAuditLog(db, keys, organizationId);
    const anchor = result.anchoredSeq
      ? `entry ${result.anchoredSeq}, anchor signed ${result.anchoredAt?.toISOString()}`
      : "no anchor yet";
    if (options.json) {
      out(JSON.stringify({ organizationId, ...result }));
    } else if (result.ok) {
      out(`Audit log of ${organizationId} is intact: ${result.entries} entries verified (${anchor}).`);
    } else {
      out(`Audit log of ${organizationId} is BROKEN at entry ${result.firstBadSeq}: ${result.reason}`);
      out(`  ${result.entries} entries before it verified.`);
    }
    return result.ok ? 0 : 1;
  } finally {
    await db.$disconnect();
  }
}
