-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateEnum
CREATE TYPE "CapabilityChangeType" AS ENUM ('added', 'changed', 'removed');

-- CreateEnum
CREATE TYPE "DiscoveryRunStatus" AS ENUM ('pending', 'running', 'succeeded', 'failed');

-- AlterTable
ALTER TABLE "McpServer" ADD COLUMN     "healthCandidate" "HealthStatus",
ADD COLUMN     "healthCandidateRun" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "healthLatencyMs" INTEGER,
ADD COLUMN     "healthReason" TEXT,
ADD COLUMN     "instructions" TEXT,
ADD COLUMN     "protocolVersion" TEXT,
ADD COLUMN     "serverCapabilities" JSONB,
ADD COLUMN     "serverInfo" JSONB;

-- AlterTable
ALTER TABLE "McpCapability" ADD COLUMN     "reviewRequired" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "McpCredential" ADD COLUMN     "headerNames" TEXT[];

-- CreateTable
CREATE TABLE "McpCapabilityChange" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "serverId" UUID NOT NULL,
    "capabilityId" UUID NOT NULL,
    "discoveryRunId" UUID,
    "kind" "CapabilityKind" NOT NULL,
    "name" TEXT NOT NULL,
    "changeType" "CapabilityChangeType" NOT NULL,
    "previousHash" TEXT,
    "newHash" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "McpCapabilityChange_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DiscoveryRun" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "serverId" UUID NOT NULL,
    "status" "DiscoveryRunStatus" NOT NULL DEFAULT 'pending',
    "trigger" TEXT NOT NULL,
    "requestedByUserId" UUID,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "summary" JSONB,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "DiscoveryRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "HealthCheck" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "serverId" UUID NOT NULL,
    "result" "HealthStatus" NOT NULL,
    "latencyMs" INTEGER,
    "error" TEXT,
    "checkedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "HealthCheck_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "McpCapabilityChange_serverId_createdAt_idx" ON "McpCapabilityChange"("serverId", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "McpCapabilityChange_organizationId_createdAt_idx" ON "McpCapabilityChange"("organizationId", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "DiscoveryRun_serverId_createdAt_idx" ON "DiscoveryRun"("serverId", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "DiscoveryRun_status_createdAt_idx" ON "DiscoveryRun"("status", "createdAt");

-- CreateIndex
CREATE INDEX "HealthCheck_serverId_checkedAt_idx" ON "HealthCheck"("serverId", "checkedAt" DESC);

-- CreateIndex
CREATE INDEX "McpServer_name_trgm_idx" ON "McpServer" USING GIN ("name" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "McpServer_description_trgm_idx" ON "McpServer" USING GIN ("description" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "McpCapability_name_trgm_idx" ON "McpCapability" USING GIN ("name" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "McpCapability_description_trgm_idx" ON "McpCapability" USING GIN ("description" gin_trgm_ops);

-- AddForeignKey
ALTER TABLE "McpCapabilityChange" ADD CONSTRAINT "McpCapabilityChange_serverId_fkey" FOREIGN KEY ("serverId") REFERENCES "McpServer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DiscoveryRun" ADD CONSTRAINT "DiscoveryRun_serverId_fkey" FOREIGN KEY ("serverId") REFERENCES "McpServer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "HealthCheck" ADD CONSTRAINT "HealthCheck_serverId_fkey" FOREIGN KEY ("serverId") REFERENCES "McpServer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

