import type BeeQueue from "bee-queue";

/**
 * bee-queue's Lua scripts: it reads them and sends `SCRIPT LOAD` once, when a queue becomes
 * ready, and calls them by SHA (`EVALSHA`) from then on. Not part of its typed API, hence `require`.
 */
const lua = require("bee-queue/lib/lua") as { buildCache(client: unknown): Promise<unknown> };

/** The parts of a bee-queue `Queue` that run scripts (private in its types). */
interface ScriptRunner {
  client: unknown;
  _evalScriptOn(commandable: unknown, args: unknown[]): Promise<unknown>;
}

/**
 * Makes a queue load its scripts again when Redis has lost them, and retry the call once.
 *
 * A restarted Redis (or `SCRIPT FLUSH`) forgets every loaded script, and bee-queue never
 * loads them again: every enqueue, stalled-job check and delayed-job activation then fails
 * with `NOSCRIPT` until the process restarts (bee-queue/bee-queue#489, open). Redis names the error
 * in its reply, which the client exposes as `code`.
 */
export function reloadScriptsWhenLost(queue: BeeQueue): void {
  const runner = queue as unknown as ScriptRunner;
  const evalScriptOn = runner._evalScriptOn.bind(queue);
  let reloading: Promise<unknown> | null = null;
  runner._evalScriptOn = (commandable, args) => {
    // bee-queue rewrites `args` in place (script name → SHA, callback appended).
    const original = [...args];
    return evalScriptOn(commandable, args).catch(async (err: unknown) => {
      // Only a direct call can be repeated; a batch (saveAll, unused here) has already run.
      if ((err as { code?: unknown }).code !== "NOSCRIPT" || commandable !== runner.client) throw err;
      reloading ??= lua.buildCache(runner.client).finally(() => {
        reloading = null;
      });
      await reloading;
      return evalScriptOn(commandable, original);
    });
  };
}
