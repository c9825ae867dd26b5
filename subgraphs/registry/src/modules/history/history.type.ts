import { JSONObjectScalar } from "@sprintconnect/subgraph-kit";
import { Field, ID, Int, ObjectType } from "type-graphql";
import { CapabilityChangeType } from "../changes/change.type";
import { CapabilityKind, DiscoveryRunStatus } from "../shared/enums";

@ObjectType("CapabilityChangeRecord", { description: "What one discovery found changed about one capability" })
export class CapabilityChangeRecord {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => ID)
  serverId!: string;

  @Field((_type) => ID)
  capabilityId!: string;

  @Field((_type) => ID, { nullable: true, description: "The discovery run (job) that found it" })
  discoveryRunId!: string | null;

  @Field((_type) => CapabilityKind)
  kind!: CapabilityKind;

  @Field((_type) => String)
  name!: string;

  @Field((_type) => CapabilityChangeType)
  changeType!: CapabilityChangeType;

  @Field((_type) => String, { nullable: true })
  previousHash!: string | null;

  @Field((_type) => String, { nullable: true })
  newHash!: string | null;

  @Field((_type) => Date)
  createdAt!: Date;
}

@ObjectType("CapabilityChangeRecordConnection")
export class CapabilityChangeRecordConnection {
  @Field((_type) => [CapabilityChangeRecord])
  items!: CapabilityChangeRecord[];

  @Field((_type) => String, { nullable: true })
  nextCursor!: string | null;
}

@ObjectType("DiscoveryRun", { description: "One discovery of a server: queued, run, finished" })
export class DiscoveryRun {
  @Field((_type) => ID, { description: "Also the job id returned when it was queued" })
  id!: string;

  @Field((_type) => ID)
  serverId!: string;

  @Field((_type) => DiscoveryRunStatus)
  status!: DiscoveryRunStatus;

  @Field((_type) => String, { description: "manual, registration, update or schedule" })
  trigger!: string;

  @Field((_type) => Int)
  attempts!: number;

  @Field((_type) => String, { nullable: true })
  error!: string | null;

  @Field((_type) => JSONObjectScalar, { nullable: true, description: "Counts of what was found and changed" })
  summary!: Record<string, unknown> | null;

  @Field((_type) => Date)
  createdAt!: Date;

  @Field((_type) => Date, { nullable: true })
  startedAt!: Date | null;

  @Field((_type) => Date, { nullable: true })
  finishedAt!: Date | null;
}
