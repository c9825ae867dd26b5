import { createWriteStream } from "node:fs";
import { mkdir, rename, symlink, unlink, writeFile } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";

export type OutputKind = "discovery-results" | "health-reports" | "chat-exports" | "audit-exports" | "usage-analytics";

/**
 * Somewhere every committed output file is copied as well (S3, `outputs-s3.ts`). A copy runs
 * in the background after the local file is in place: it never delays, fails or changes the
 * write that made the file.
 */
export interface OutputMirror {
  /** Starts copying the finished file `file` to `key` (`<timestamp>/<kind>/<name>`); never throws. */
  copy(file: string, key: string, kind: OutputKind): void;
  /** Resolves when every copy started so far has finished or been given up. */
  settled(): Promise<void>;
  /** Waits for the copies in flight (at most `waitMs` when given), then releases connections. */
  close(waitMs?: number): Promise<void>;
}

export interface OutputsOptions {
  /** Copies committed files elsewhere too (S3 when configured). Default: local only. */
  mirror?: OutputMirror | null;
}

/**
 * Run artifacts under `<OUTPUTS_DIR>/<timestamp>/<kind>/`, one timestamped folder per process
 * start, with `<OUTPUTS_DIR>/latest` pointing at the newest. Files are written under a
 * temporary name and renamed, so a reader never sees half a report.
 */
export class Outputs {
  readonly root: string;
  readonly runDir: string;
  private linked = false;
  private readonly mirror: OutputMirror | null;

  constructor(dir: string, now = new Date(), options: OutputsOptions = {}) {
    this.mirror = options.mirror ?? null;
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
    this.mirrored(file, kind);
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
        this.mirrored(file, kind);
        return file;
      },
      abort: async () => {
        stream.destroy();
        await unlink(tmp).catch(() => undefined);
      },
    };
  }

  /** Resolves when every mirror copy started so far (S3 uploads) has finished or been given up. */
  async settled(): Promise<void> {
    await this.mirror?.settled();
  }

  /**
   * Waits for the mirror copies in flight (S3 uploads; at most `waitMs` when given), then
   * closes the mirror. Local writes need no closing.
   */
  async close(waitMs?: number): Promise<void> {
    await this.mirror?.close(waitMs);
  }

  /** Hands a committed file to the mirror under its key relative to the outputs root. */
  private mirrored(file: string, kind: OutputKind): void {
    this.mirror?.copy(file, relative(this.root, file).split(sep).join("/"), kind);
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
