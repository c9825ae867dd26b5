/**
 * One jest run for the whole repository: TypeScript through @swc/jest (CommonJS, with the
 * decorator metadata type-graphql needs), workspace packages mapped to their sources so the
 * tests never run stale builds, real PostgreSQL and Redis (see test/support/global-setup.ts).
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test", "<rootDir>/packages", "<rootDir>/subgraphs", "<rootDir>/gateway", "<rootDir>/worker"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  // openid-client 6 and its dependencies are ES modules only: compiled to CommonJS like our own
  // code (Node itself loads them through import() in the built processes).
  transformIgnorePatterns: ["/node_modules/(?!(openid-client|oauth4webapi|jose/dist/webapi)/)"],
  transform: {
    "^.+\\.(ts|js)$": [
      "@swc/jest",
      {
        jsc: {
          parser: { syntax: "typescript", decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: "es2022",
        },
        module: { type: "commonjs" },
      },
    ],
  },
  moduleNameMapper: {
    "^@sprintconnect/subgraph-kit/websocket$": "<rootDir>/packages/subgraph-kit/src/websocket",
    "^@sprintconnect/(core|subgraph-kit|cli|mcp|jobs)$": "<rootDir>/packages/$1/src",
    "^@sprintconnect/worker$": "<rootDir>/worker/src",
    "^@sprintconnect/(registry|chat|metrics|admin)-subgraph$": "<rootDir>/subgraphs/$1/src",
    "^@sprintconnect/gateway$": "<rootDir>/gateway/src",
  },
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  setupFiles: ["reflect-metadata"],
  testTimeout: 30000,
  maxWorkers: 2,
  reporters: ["default", "<rootDir>/test/support/summary-reporter.js"],
};
