import { createWriteStream } from "node:fs";
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
    // packages/core/{src,dist} → the checkout.
    this.root = isAbsolute(dir) ? dir : resolve(__dirname, "../../..", dir);
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

  /**
   * A file written piece by piece (an export as it streams): `write` appends, `commit` renames
   * it into place, `abort` removes it. Returns the final path with the writer.
   */
  async open(kind: OutputKind, name: string): Promise<OutputFile> {
    const folder = join(this.runDir, kind);
    await mkdir(folder, { recursive: true });
    const file = join(folder, name);
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    const stream = createWriteStream(tmp);
    const finished = new Promise<void>((done, fail) => {
      stream.once("finish", done);
      stream.once("error", fail);
    });
    return {
      path: file,
      write: (text) => new Promise<void>((done, fail) => stream.write(text, (err) => (err ? fail(err) : done()))),
      commit: async () => {
        stream.end();
        await finished;
        await rename(tmp, file);
        if (!this.linked) await this.linkLatest();
        return file;
      },
      abort: async () => {
        stream.destroy();
        await unlink(tmp).catch(() => undefined);
      },
    };
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

/** A file being written under a temporary name. */
export interface OutputFile {
  path: string;
  write(text: string): Promise<void>;
  commit(): Promise<string>;
  abort(): Promise<void>;
}
