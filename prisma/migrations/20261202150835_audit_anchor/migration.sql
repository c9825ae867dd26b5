-- CreateTable
CREATE TABLE "AuditAnchor" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,
    "signedAt" TIMESTAMPTZ(3) NOT NULL,
    "keyId" TEXT NOT NULL,
    "signature" TEXT NOT NULL,

    CONSTRAINT "AuditAnchor_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "AuditAnchor_organizationId_seq_key" ON "AuditAnchor"("organizationId", "seq");


-- Anchors are append-only, like the log they vouch for.
CREATE OR REPLACE FUNCTION audit_anchor_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'AuditAnchor is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "AuditAnchor_append_only"
  BEFORE UPDATE OR DELETE ON "AuditAnchor"
  FOR EACH ROW EXECUTE FUNCTION audit_anchor_refuse_change();

CREATE TRIGGER "AuditAnchor_no_truncate"
  BEFORE TRUNCATE ON "AuditAnchor"
  FOR EACH STATEMENT EXECUTE FUNCTION audit_anchor_refuse_change();
