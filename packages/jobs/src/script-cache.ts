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
  runner._evalScriptOn = (commandable, args) => {
    // bee-queue rewrites `args` in place (script name → SHA, callback appended).
    const original = [...args];
    return evalScriptOn(commandable, args).catch(async (err: unknown) => {
      // Only a direct call is repeated here; a batch (saveAll) has already been sent, and
      // `JobQueues.enqueueAll` sends again the jobs whose script was lost.
      if ((err as { code?: unknown }).code !== "NOSCRIPT" || commandable !== runner.client) throw err;
      await reloadScripts(queue);
      return evalScriptOn(commandable, original);
    });
  };
}

const reloads = new WeakMap<BeeQueue, Promise<unknown>>();

/** Loads the queue's scripts into Redis again; concurrent callers share one load. */
export function reloadScripts(queue: BeeQueue): Promise<unknown> {
  let reloading = reloads.get(queue);
  if (!reloading) {
    reloading = lua.buildCache((queue as unknown as ScriptRunner).client).finally(() => reloads.delete(queue));
    reloads.set(queue, reloading);
  }
  return reloading;
}
