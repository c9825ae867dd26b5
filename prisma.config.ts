// Prisma CLI configuration. The "js" engine uses the WebAssembly schema engine through the
// pg driver adapter, so neither `prisma generate` nor `prisma migrate diff` downloads a
// binary. The CLI needs a DATABASE_URL to start; the default is the local development one.
import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";

const url = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/sprintconnect";
process.env.DATABASE_URL = url;

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  async adapter() {
    return new PrismaPg({ connectionString: url });
  },
});
