import { verifyAuditChain } from "@sprintconnect/core";
import { parseOptions, required, uuid } from "../args";
import { CliError } from "../cli-error";
import { connect, loadEnv } from "../config";
import { out } from "../output";

/** `audit verify --org <id> [--json]`: exit code 0 when the chain is intact, 1 when broken. */
export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args, { org: { type: "string" }, json: { type: "boolean" } });
  const organizationId = uuid(required(options.org, "--org"), "--org");
  const db = connect(loadEnv());
  try {
    const organization = await db.organization.findUnique({ where: { id: organizationId }, select: { id: true } });
    if (!organization) throw new CliError(`Organization ${organizationId} not found`);
    const result = await verifyAuditChain(db, organizationId);
    if (options.json) {
      out(JSON.stringify({ organizationId, ...result }));
    } else if (result.ok) {
      out(`Audit log of ${organizationId} is intact: ${result.entries} entries verified.`);
    } else {
      out(`Audit log of ${organizationId} is BROKEN at entry ${result.firstBadSeq}: ${result.reason}`);
      out(`  ${result.entries} entries before it verified.`);
    }
    return result.ok ? 0 : 1;
  } finally {
    await db.$disconnect();
  }
}
