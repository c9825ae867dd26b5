/**
 * `npm run bench`: the main jest configuration (same transform and workspace mapping), limited
 * to bench/**\/*.bench.ts, on the bench database (bench/support/global-setup.ts and
 * setup-env.ts), one file at a time, with timeouts long enough for seeding and load runs.
 * Benches print their figures and write outputs/bench/<name>.json; they never assert speed.
 * @type {import('jest').Config}
 */
const base = require("./jest.config.js");

module.exports = {
  ...base,
  roots: ["<rootDir>/bench"],
  testMatch: ["**/*.bench.ts"],
  globalSetup: "<rootDir>/bench/support/global-setup.ts",
  setupFiles: [...base.setupFiles, "<rootDir>/bench/support/setup-env.ts"],
  testTimeout: 300_000,
  maxWorkers: 1,
  testSequencer: "<rootDir>/bench/support/sequencer.js",
  reporters: ["default"],
};
