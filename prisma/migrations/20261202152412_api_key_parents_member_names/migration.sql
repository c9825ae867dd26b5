-- AlterTable
ALTER TABLE "Membership" ADD COLUMN     "name" TEXT;

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "parentKeyId" UUID;

-- CreateIndex
CREATE INDEX "ApiKey_parentKeyId_idx" ON "ApiKey"("parentKeyId");

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_parentKeyId_fkey" FOREIGN KEY ("parentKeyId") REFERENCES "ApiKey"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Existing members keep the name they are shown with today.
UPDATE "Membership" m SET "name" = u."name" FROM "User" u WHERE u."id" = m."userId";
