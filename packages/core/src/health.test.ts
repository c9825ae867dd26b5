import { operationsAccess } from "./health";

const token = "t".repeat(40);

describe("operationsAccess", () => {
  it("allows only the metrics token as a bearer when one is configured, in every environment", () => {
    for (const APP_ENV of ["development", "production"]) {
      expect(operationsAccess(`Bearer ${token}`, { APP_ENV, METRICS_TOKEN: token })).toBe("allowed");
      expect(operationsAccess(undefined, { APP_ENV, METRICS_TOKEN: token })).toBe("unauthenticated");
      expect(operationsAccess(`Bearer ${token}x`, { APP_ENV, METRICS_TOKEN: token })).toBe("unauthenticated");
      expect(operationsAccess(token, { APP_ENV, METRICS_TOKEN: token })).toBe("unauthenticated");
    }
  });

  it("serves the endpoints without a token only in development, and not at all in staging or production", () => {
    expect(operationsAccess(undefined, { APP_ENV: "development" })).toBe("allowed");
    expect(operationsAccess(`Bearer ${token}`, { APP_ENV: "staging" })).toBe("disabled");
    expect(operationsAccess(undefined, { APP_ENV: "production" })).toBe("disabled");
  });
});
