-- Discovery search answers a page by walking matches in their final order (health status, then
-- name) and stopping, instead of ranking every match (docs/ARCHITECTURE.md, "Discovery search").

-- AlterTable: capabilities are ordered and prefix-matched by their lower-cased name in byte order,
-- whatever the database's collation. Adding a stored generated column rewrites the table once.
ALTER TABLE "McpCapability" ADD COLUMN     "nameKey" text COLLATE "C" GENERATED ALWAYS AS (lower(name)) STORED;

-- CreateIndex
CREATE INDEX "McpServer_organizationId_healthStatus_name_id_idx" ON "McpServer"("organizationId", "healthStatus", "name", "id");

-- CreateIndex
CREATE INDEX "McpCapability_organizationId_nameKey_id_idx" ON "McpCapability"("organizationId", "nameKey", "id");

-- CreateIndex
CREATE INDEX "McpCapability_organizationId_kind_nameKey_id_idx" ON "McpCapability"("organizationId", "kind", "nameKey", "id");
