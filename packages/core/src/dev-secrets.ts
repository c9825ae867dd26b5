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
  return JSON.parse(
    readOrCreate(dir, FILE, () => {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const secrets: DevSecrets = {
        jwtPrivateJwk: privateKey.export({ format: "jwk" }) as Record<string, unknown>,
        apiKeyPepper: randomBytes(32).toString("base64url"),
        secretStoreKey: randomBytes(32).toString("base64"),
      };
      return JSON.stringify(secrets, null, 2);
    }),
  ) as DevSecrets;
}

/**
 * A random development secret (32 bytes, base64url) kept in its own file of the development
 * key folder, created on first use like the key file (e.g. the application database role's
 * password).
 */
export function loadDevSecret(dir: string, name: string): string {
  return readOrCreate(dir, name, () => randomBytes(32).toString("base64url")).trim();
}

function readOrCreate(dir: string, file: string, create: () => string): string {
  // Relative to the checkout (not the working directory), so every process shares one file.
  const folder = isAbsolute(dir) ? dir : resolve(__dirname, "../../..", dir);
  const path = join(folder, file);
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const tmp = join(folder, `${file}.${process.pid}.${randomBytes(4).toString("hex")}`);
  writeFileSync(tmp, create(), { mode: 0o600 });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  return readFileSync(path, "utf8");
}
