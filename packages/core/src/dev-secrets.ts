import { generateKeyPairSync, randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";

/** Development keys, generated once per checkout into a git-ignored folder. */
export interface DevSecrets {
  jwtPrivateJwk: Record<string, unknown>;
  apiKeyPepper: string;
  secretStoreKey: string;
}

const FILE = "dev-secrets.json";

/**
 * Reads the development key file, creating it on first use. Several processes start at once,
 * so the file is written under a temporary name and linked into place: exactly one creator
 * wins and every reader sees a complete file.
 */
export function loadDevSecrets(dir: string): DevSecrets {
  // Relative to the checkout (not the working directory), so every process shares one file.
  const folder = isAbsolute(dir) ? dir : resolve(__dirname, "../../..", dir);
  const path = join(folder, FILE);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as DevSecrets;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const secrets: DevSecrets = {
    jwtPrivateJwk: privateKey.export({ format: "jwk" }) as Record<string, unknown>,
    apiKeyPepper: randomBytes(32).toString("base64url"),
    secretStoreKey: randomBytes(32).toString("base64"),
  };
  const tmp = join(folder, `${FILE}.${process.pid}.${randomBytes(4).toString("hex")}`);
  writeFileSync(tmp, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  return JSON.parse(readFileSync(path, "utf8")) as DevSecrets;
}
