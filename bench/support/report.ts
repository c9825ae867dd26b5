import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

/** Where every bench writes its figures as JSON, beside the printed table. */
export const RESULTS_DIR = resolve(__dirname, "../../outputs/bench");

export type Cell = string | number | null | undefined;

/** A number as a table shows it: at most `digits` decimals, NaN and null as "-". */
export function fmt(value: Cell, digits = 1): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "string") return value;
  if (Number.isNaN(value)) return "-";
  if (Number.isInteger(value) && Math.abs(value) >= 1000) return value.toLocaleString("en-US");
  return value.toFixed(Number.isInteger(value) ? 0 : digits);
}

/** A small aligned table, written straight to stdout (jest's console buffers and decorates). */
export function printTable(title: string, columns: string[], rows: Cell[][], note?: string): void {
  const cells = rows.map((row) => row.map((c) => fmt(c)));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? "").length)));
  // First column left-aligned (labels), the others right-aligned (figures).
  const line = (row: string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  const out = [
    "",
    `== ${title}`,
    line(columns),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...cells.map(line),
    ...(note ? [note] : []),
    "",
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

/** Free text under the tables (an EXPLAIN, a caveat). */
export function printText(title: string, text: string): void {
  process.stdout.write(`\n== ${title}\n${text}\n`);
}

/** Writes `outputs/bench/<name>.json` and returns its path. */
export async function writeResults(name: string, data: unknown): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ bench: name, at: new Date().toISOString(), ...(data as object) }, null, 2)}\n`,
  );
  return file;
}
