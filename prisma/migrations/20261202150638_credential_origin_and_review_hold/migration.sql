-- AlterTable
ALTER TABLE "Organization" ADD COLUMN     "holdNewCapabilitiesForReview" BOOLEAN NOT NULL DEFAULT true;

-- AlterTable: a credential is bound to the origin of its server's URL. Existing credentials were
-- stored for the URL their server has now (baseUrl is stored normalised by the WHATWG URL
-- parser: lower-case scheme and host, no default port, no user info), so its
-- `scheme://host[:port]` prefix is the origin.
ALTER TABLE "McpCredential" ADD COLUMN     "origin" TEXT;
UPDATE "McpCredential" c SET "origin" = substring(s."baseUrl" from '^[a-z][a-z0-9+.-]*://[^/?#]+')
  FROM "McpServer" s WHERE s.id = c."serverId";
ALTER TABLE "McpCredential" ALTER COLUMN "origin" SET NOT NULL;
