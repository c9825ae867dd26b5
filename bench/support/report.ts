import { writeSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
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

/**
 * Straight to file descriptor 1: jest's console decorates every line with its origin, and its
 * default reporter buffers `process.stdout` and flushes it late, out of order with its own lines.
 */
export function print(text: string): void {
  writeSync(1, text);
}

/** A small aligned table on stdout. */
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
  print(`${out.join("\n")}\n`);
}

/** Free text under the tables (an EXPLAIN, a caveat). */
export function printText(title: string, text: string): void {
  print(`\n== ${title}\n${text}\n`);
}

/**
 * What else the machine was doing: figures taken while other processes compete for the same
 * cores are not comparable, so every table says so.
 */
export function conditions(): { cpus: number; loadAverage: number[]; nodeEnv: string | undefined; node: string } {
  return {
    cpus: cpus().length,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    nodeEnv: process.env.NODE_ENV,
    node: process.version,
  };
}

export function conditionsNote(): string {
  const c = conditions();
  return `Machine: ${c.cpus} CPUs, load average (1, 5, 15 min) ${c.loadAverage.join(", ")}; Node ${c.node}, NODE_ENV=${c.nodeEnv}.`;
}

/** Writes `outputs/bench/<name>.json` (with the machine's conditions) and returns its path. */
export async function writeResults(name: string, data: unknown): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  const document = { bench: name, at: new Date().toISOString(), conditions: conditions(), ...(data as object) };
  await writeFile(file, `${JSON.stringify(document, null, 2)}\n`);
  return file;
}
