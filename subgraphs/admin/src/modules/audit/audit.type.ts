import { JSONObjectScalar } from "@sprintconnect/subgraph-kit";
import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";

@ObjectType("AuditLogEntry", { description: "One entry of the organization's tamper-evident audit log" })
export class AuditLogEntry {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => String, { description: "Position in the organization's chain, from 1 (a 64-bit integer)" })
  seq!: string;

  @Field((_type) => String, { description: "user, api_key or system" })
  actorType!: string;

  @Field((_type) => String, { nullable: true })
  actorId!: string | null;

  @Field((_type) => String)
  action!: string;

  @Field((_type) => String, { nullable: true })
  targetType!: string | null;

  @Field((_type) => String, { nullable: true })
  targetId!: string | null;

  @Field((_type) => String, { nullable: true })
  requestId!: string | null;

  @Field((_type) => String, { nullable: true })
  ip!: string | null;

  @Field((_type) => JSONObjectScalar, { description: "Before/after values of the change" })
  data!: Record<string, unknown>;

  @Field((_type) => String)
  prevHash!: string;

  @Field((_type) => String, { description: "sha256 of prevHash and the canonical JSON of the entry" })
  hash!: string;

  @Field((_type) => Date)
  createdAt!: Date;
}

@ObjectType("AuditLogConnection", { description: "A page of audit entries, newest first" })
export class AuditLogConnection {
  @Field((_type) => [AuditLogEntry])
  items!: AuditLogEntry[];

  @Field((_type) => String, { nullable: true, description: "Pass as `cursor` for the next page; null on the last" })
  nextCursor!: string | null;
}

@ObjectType("AuditVerification", { description: "Result of recomputing the organization's audit hash chain" })
export class AuditVerification {
  @Field((_type) => Boolean)
  ok!: boolean;

  @Field((_type) => Int, { description: "Entries verified before the first bad one (all of them when ok)" })
  entries!: number;

  @Field((_type) => String, { nullable: true })
  firstBadSeq!: string | null;

  @Field((_type) => String, { nullable: true })
  reason!: string | null;

  @Field((_type) => String, {
    nullable: true,
    description:
      "The entry covered by the newest signed anchor of the log (verifying an intact log anchors its head); the log must always reach it",
  })
  anchoredSeq!: string | null;

  @Field((_type) => Date, { nullable: true, description: "When that anchor was signed" })
  anchoredAt!: Date | null;
}

/** The formats of an audit log export (lowercase, as the REST `format` parameter spells them). */
export enum AuditExportFormat {
  json = "json",
  csv = "csv",
  ndjson = "ndjson",
}

registerEnumType(AuditExportFormat, {
  name: "AuditExportFormat",
  description: "json: one document; csv: one row per entry; ndjson: one JSON entry per line",
});

@ObjectType("AuditExport", {
  description:
    "An export of the audit log, recorded as an entry of its own (`audit.exported`, whose id this is); its pages (`auditLogExportPage`) hold the entries before that one that match its filters",
})
export class AuditExport {
  @Field((_type) => ID, { description: "Id of the export's own audit entry" })
  id!: string;

  @Field((_type) => AuditExportFormat)
  format!: AuditExportFormat;

  @Field((_type) => Int, { description: "Entries the export holds" })
  rows!: number;

  @Field((_type) => String, { description: "The newest entry it can hold: the one before its own entry" })
  throughSeq!: string;

  @Field((_type) => String, { nullable: true })
  action!: string | null;

  @Field((_type) => String, { nullable: true })
  targetId!: string | null;

  @Field((_type) => String, { nullable: true })
  actorId!: string | null;

  @Field((_type) => Date, { nullable: true })
  from!: Date | null;

  @Field((_type) => Date, { nullable: true })
  to!: Date | null;
}
