-- CreateEnum
CREATE TYPE "PolicyDefaultAccess" AS ENUM ('open', 'closed');

-- CreateEnum
CREATE TYPE "PolicyEffect" AS ENUM ('allow', 'deny');

-- AlterTable
ALTER TABLE "Organization" ADD COLUMN     "defaultAccess" "PolicyDefaultAccess" NOT NULL DEFAULT 'open';

-- CreateTable
CREATE TABLE "Policy" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "effect" "PolicyEffect" NOT NULL,
    "actions" TEXT[],
    "subjectRoles" TEXT[],
    "subjectUserIds" TEXT[],
    "subjectApiKeyIds" TEXT[],
    "serverIds" TEXT[],
    "serverTags" TEXT[],
    "environments" TEXT[],
    "capabilityPatterns" TEXT[],
    "capabilityKinds" TEXT[],
    "createdByUserId" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Policy_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Policy_organizationId_createdAt_id_idx" ON "Policy"("organizationId", "createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Policy_organizationId_name_key" ON "Policy"("organizationId", "name");

-- AddForeignKey
ALTER TABLE "Policy" ADD CONSTRAINT "Policy_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

