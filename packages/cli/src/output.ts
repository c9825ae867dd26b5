/** One line of results, on stdout (what scripts capture). */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** One line of progress or error, on stderr (never mixed into results). */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}
