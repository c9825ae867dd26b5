import { createKeyRing, issueAccessToken, resolveKeys } from "@sprintconnect/core";
import { parseOptions, required, uuid } from "../args";
import { CliError, usageError } from "../cli-error";
import { connect, loadEnv } from "../config";
import { note, out } from "../output";

/** `token create --user <id> --org <id> [--ttl <seconds>] [--json]` */
export async function run(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    user: { type: "string" },
    org: { type: "string" },
    ttl: { type: "string" },
    json: { type: "boolean" },
  });
  const userId = uuid(required(options.user, "--user"), "--user");
  const organizationId = uuid(required(options.org, "--org"), "--org");
  const env = loadEnv();
  const ttlSeconds = options.ttl === undefined ? env.JWT_ACCESS_TOKEN_TTL_SECONDS : Number(options.ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw usageError("--ttl must be a positive number of seconds");

  const db = connect(env);
  let role: string;
  try {
    const membership = await db.membership.findUnique({
      where: { organizationId_userId: { organizationId, userId } },
      select: { role: true, status: true },
    });
    if (!membership) throw new CliError(`User ${userId} is not a member of organization ${organizationId}`);
    if (membership.status !== "active") {
      throw new CliError(`User ${userId} is invited to organization ${organizationId} but has not logged in yet`);
    }
    role = membership.role;
  } finally {
    await db.$disconnect();
  }

  const keys = await createKeyRing(resolveKeys(env).jwtPrivateJwk);
  const { token, expiresAt } = await issueAccessToken(
    keys,
    { userId, organizationId },
    { issuer: env.JWT_ISSUER, ttlSeconds },
  );
  if (options.json) {
    out(JSON.stringify({ token, expiresAt: expiresAt.toISOString(), userId, organizationId, role }));
  } else {
    // Only the token on stdout, so `$(… token create …)` captures it.
    note(
      `Access token for user ${userId} (${role}) in organization ${organizationId}, expires ${expiresAt.toISOString()}`,
    );
    out(token);
  }
  return 0;
}
