import { mkdir, rename, symlink, unlink, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";

export type OutputKind = "discovery-results" | "health-reports" | "chat-exports" | "usage-analytics";

/**
 * Run artifacts under `<OUTPUTS_DIR>/<timestamp>/<kind>/`, one timestamped folder per process
 * start, with `<OUTPUTS_DIR>/latest` pointing at the newest. Files are written under a
 * temporary name and renamed, so a reader never sees half a report.
 */
export class Outputs {
  readonly root: string;
  readonly runDir: string;
  private linked = false;

  constructor(dir: string, now = new Date()) {
    this.root = isAbsolute(dir) ? dir : resolve(__dirname, "../..", dir);
    this.runDir = join(
      this.root,
      now
        .toISOString()
        .replace(/[:.]/g, "-")
        .replace(/-\d{3}Z$/, ""),
    );
  }

  async write(kind: OutputKind, name: string, content: unknown): Promise<string> {
    const folder = join(this.runDir, kind);
    await mkdir(folder, { recursive: true });
    const file = join(folder, name);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(content, null, 2)}\n`);
    await rename(tmp, file);
    if (!this.linked) await this.linkLatest();
    return file;
  }

  private async linkLatest(): Promise<void> {
    const latest = join(this.root, "latest");
    const tmp = `${latest}.${process.pid}.tmp`;
    await unlink(tmp).catch(() => undefined);
    await symlink(this.runDir, tmp);
    await rename(tmp, latest);
    this.linked = true;
  }
}
