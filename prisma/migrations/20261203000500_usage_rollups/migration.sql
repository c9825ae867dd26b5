-- CreateTable
CREATE TABLE "UsageRollup" (
    "id" BIGSERIAL NOT NULL,
    "organizationId" UUID NOT NULL,
    "period" TEXT NOT NULL,
    "bucketStart" TIMESTAMPTZ(3) NOT NULL,
    "kind" TEXT NOT NULL,
    "serverId" UUID,
    "toolName" TEXT,
    "userId" UUID,
    "apiKeyId" UUID,
    "model" TEXT,
    "events" INTEGER NOT NULL,
    "quantity" BIGINT NOT NULL,
    "errors" INTEGER NOT NULL,
    "inputTokens" BIGINT NOT NULL,
    "outputTokens" BIGINT NOT NULL,
    "cachedTokens" BIGINT NOT NULL,
    "costUsd" DECIMAL(18,8) NOT NULL,
    "durationMsSum" BIGINT NOT NULL,
    "durationCount" INTEGER NOT NULL,
    "latencyHistogram" INTEGER[],

    CONSTRAINT "UsageRollup_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "UsageRollupState" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "rolledUntil" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "UsageRollupState_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "UsageRollup_organizationId_period_bucketStart_idx" ON "UsageRollup"("organizationId", "period", "bucketStart");

-- CreateIndex
CREATE INDEX "UsageRollup_period_bucketStart_idx" ON "UsageRollup"("period", "bucketStart");

-- CreateIndex
CREATE INDEX "UsageEvent_occurredAt_idx" ON "UsageEvent"("occurredAt");

-- AddForeignKey
ALTER TABLE "UsageRollup" ADD CONSTRAINT "UsageRollup_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

