import type { Logger, PolicySet, Principal } from "@sprintconnect/core";
import type { GraphQLResolveInfo } from "graphql";
import { type CallerPolicies, compileFor } from "../shared/caller-policies";

/** How often the policies of organizations with live subscribers are looked at again. */
export const LIVE_POLICY_REFRESH_MS = 2_000;

interface Held {
  set: PolicySet;
  holders: number;
}

/**
 * The access policies of the organizations that have live subscribers in this process, kept in
 * memory: a subscription decides each event synchronously (the event hub's `select`), so it
 * cannot read per event, and it lives far longer than a request. Every `refreshMs` while anyone
 * holds them, each organization's access epoch is read and its policies taken through
 * `CallerPolicies` under that epoch — the registry's one policy cache, so an unchanged epoch costs
 * one Redis read and no database read, and a changed one one read shared with the requests.
 * Bound: a change through the API reaches live subscriptions within `refreshMs` plus one read;
 * one behind the API's back within the cache's TTL (docs/SECURITY.md). Without `accessEpoch`
 * (a schema built without Redis) every look reads the database.
 */
export class LivePolicies {
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly policies: CallerPolicies,
    private readonly accessEpoch: ((organizationId: string) => Promise<number>) | null,
    private readonly logger: Logger,
    private readonly refreshMs = LIVE_POLICY_REFRESH_MS,
  ) {}

  /**
   * Reads the caller's organization's policies (current) and keeps them current until `release`.
   * `allows(server)` decides `read` of a server for the caller with the latest policies read.
   */
  async hold(principal: Principal): Promise<LiveDecision> {
    const organizationId = principal.organizationId;
    const set = await this.current(organizationId);
    let entry = this.held.get(organizationId);
    if (entry) entry.set = set;
    else {
      entry = { set, holders: 0 };
      this.held.set(organizationId, entry);
    }
    entry.holders += 1;
    this.schedule();
    const held = entry;
    let compiledFrom = set;
    let compiled = compileFor(set, principal, "read");
    let released = false;
    return {
      allows: (server) => {
        if (held.set !== compiledFrom) {
          compiled = compileFor(held.set, principal, "read");
          compiledFrom = held.set;
        }
        return compiled.server(server).allowed;
      },
      release: () => {
        if (released) return;
        released = true;
        held.holders -= 1;
        if (held.holders === 0 && this.held.get(organizationId) === held) this.held.delete(organizationId);
        if (this.held.size === 0) this.stop();
      },
    };
  }

  /** The organization's policies under its current access epoch. */
  private async current(organizationId: string): Promise<PolicySet> {
    const epoch = this.accessEpoch ? await this.accessEpoch(organizationId) : undefined;
    return this.policies.policySet(organizationId, epoch);
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Looks at every held organization's policies again; a failed look keeps the last set (logged). */
  private async refresh(): Promise<void> {
    for (const [organizationId, entry] of this.held) {
      try {
        entry.set = await this.current(organizationId);
      } catch (err) {
        this.logger.warn({ err, organizationId }, "could not read the access policies of live subscriptions again");
      }
    }
  }
}

export interface LiveDecision {
  allows(server: { id: string; tags: readonly string[]; environment: string }): boolean;
  release(): void;
}

/** Where a subscription field finds its schema's `LivePolicies` (set by `attachLivePolicies`). */
const EXTENSION = "sprintconnectLivePolicies";

/** Gives the schema's subscription fields the `LivePolicies` they decide with. */
export function attachLivePolicies(
  fields: Record<string, { extensions: Record<string, unknown> }>,
  live: LivePolicies,
): void {
  for (const field of Object.values(fields)) field.extensions = { ...field.extensions, [EXTENSION]: live };
}

/** The `LivePolicies` of the schema running this subscription field. */
export function livePoliciesOf(info: GraphQLResolveInfo): LivePolicies {
  const field = info.parentType.getFields()[info.fieldName];
  const live = field?.extensions?.[EXTENSION];
  if (!(live instanceof LivePolicies)) throw new Error(`no LivePolicies attached to ${info.fieldName}`);
  return live;
}
