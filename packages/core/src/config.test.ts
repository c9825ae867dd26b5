import {
  ConfigError,
  gatewayEnvSchema,
  parseEnv,
  resolveAppDatabaseUrl,
  resolveKeys,
  subgraphEnvSchema,
} from "./config";

describe("configuration", () => {
  it("reports every invalid variable at once", () => {
    let error: unknown;
    try {
      parseEnv(gatewayEnvSchema, {
        APP_ENV: "prod",
        GATEWAY_PORT: "eighty",
        DATABASE_URL: "mysql://x",
        RATE_LIMIT_REQUESTS_PER_MINUTE: "-1",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.join("\n");
    for (const name of ["APP_ENV", "GATEWAY_PORT", "DATABASE_URL", "RATE_LIMIT_REQUESTS_PER_MINUTE"]) {
      expect(issues).toContain(name);
    }
  });

  it("has defaults that work on a developer machine", () => {
    const env = parseEnv(gatewayEnvSchema, {});
    expect(env).toMatchObject({
      APP_ENV: "development",
      GATEWAY_PORT: 4000,
      RATE_LIMIT_REQUESTS_PER_MINUTE: 60,
      RATE_LIMIT_BURST_SIZE: 100,
      QUOTA_REQUESTS_PER_DAY: 10000,
      LOG_LEVEL: "info",
    });
  });

  // --- OIDC login (issue 9) ---
  it("accepts an http:// OIDC provider outside production only, and needs a client id with it", () => {
    const loopback = "http://127.0.0.1:8080/.well-known/openid-configuration";
    expect(
      parseEnv(subgraphEnvSchema, { OIDC_DISCOVERY_URL: loopback, OIDC_CLIENT_ID: "sc", OIDC_REDIRECT_URIS: "a,b" }),
    ).toMatchObject({
      OIDC_DISCOVERY_URL: loopback,
      OIDC_REDIRECT_URIS: ["a", "b"],
      JWT_REFRESH_TOKEN_TTL_SECONDS: 2_592_000,
    });
    expect(() =>
      parseEnv(subgraphEnvSchema, { APP_ENV: "production", OIDC_DISCOVERY_URL: loopback, OIDC_CLIENT_ID: "sc" }),
    ).toThrow(/OIDC_DISCOVERY_URL: must be https:\/\/ in production/);
    expect(() => parseEnv(subgraphEnvSchema, { OIDC_DISCOVERY_URL: loopback })).toThrow(
      /OIDC_CLIENT_ID: required with OIDC_DISCOVERY_URL/,
    );
    expect(() =>
      parseEnv(subgraphEnvSchema, { OIDC_DISCOVERY_URL: "ftp://idp.example/x", OIDC_CLIENT_ID: "sc" }),
    ).toThrow(/OIDC_DISCOVERY_URL/);
  });
  // --- end OIDC login ---
  it("requires VAULT_TOKEN with SECRET_STORE=vault, and VAULT_ADDR too in production", () => {
    expect(parseEnv(gatewayEnvSchema, {}).SECRET_STORE).toBe("local");
    expect(() => parseEnv(gatewayEnvSchema, { SECRET_STORE: "vault" })).toThrow(/VAULT_TOKEN: required/);
    expect(parseEnv(gatewayEnvSchema, { SECRET_STORE: "vault", VAULT_TOKEN: "t" })).toMatchObject({
      SECRET_STORE: "vault",
      VAULT_TOKEN: "t",
    });
    expect(() =>
      parseEnv(gatewayEnvSchema, { APP_ENV: "production", SECRET_STORE: "vault", VAULT_TOKEN: "t" }),
    ).toThrow(/VAULT_ADDR: required in production/);
  });

  it("accepts the seed's upper-case log level", () => {
    expect(parseEnv(gatewayEnvSchema, { LOG_LEVEL: "INFO" }).LOG_LEVEL).toBe("info");
  });

  it("requires real keys in production instead of generating development ones", () => {
    const env = parseEnv(gatewayEnvSchema, { APP_ENV: "production" });
    expect(() => resolveKeys(env)).toThrow(/JWT_SECRET_KEY[\s\S]*API_KEY_ENCRYPTION_KEY[\s\S]*SECRET_STORE_LOCAL_KEY/);
  });

  it("connects the processes as the application role <database>_app, never as DATABASE_URL's owner", () => {
    const env = parseEnv(gatewayEnvSchema, {
      DATABASE_URL: "postgresql://owner:secret@db.internal:5433/sprintconnect?sslmode=require",
      APP_DATABASE_PASSWORD: "a password of sixteen+",
    });
    const url = new URL(resolveAppDatabaseUrl(env));
    expect(url.username).toBe("sprintconnect_app");
    expect(decodeURIComponent(url.password)).toBe("a password of sixteen+");
    expect(`${url.host}${url.pathname}${url.search}`).toBe("db.internal:5433/sprintconnect?sslmode=require");
    const explicit = "postgresql://app:pw@pooler:6432/sprintconnect";
    expect(resolveAppDatabaseUrl(parseEnv(gatewayEnvSchema, { APP_DATABASE_URL: explicit }))).toBe(explicit);
  });

  it("requires the application role's URL or password in production instead of generating one", () => {
    const env = parseEnv(gatewayEnvSchema, { APP_ENV: "production" });
    expect(() => resolveAppDatabaseUrl(env)).toThrow(ConfigError);
    expect(() => resolveAppDatabaseUrl(env)).toThrow(/APP_DATABASE_URL/);
  });
});
