import { describe, expect, it } from "vitest";
import { isPermanentDbError } from "./auth-state";

// Which failed writes the key store holds (an outage: retried until Postgres takes them) and which
// it fails at once (retrying cannot help). ADR 007.
describe("isPermanentDbError", () => {
  it("outages are not permanent: they are waited out", () => {
    expect(isPermanentDbError(new Error("Connection terminated unexpectedly"))).toBe(false);
    expect(
      isPermanentDbError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })),
    ).toBe(false);
    expect(isPermanentDbError({ code: "P1001", message: "Can't reach database server" })).toBe(false);
    expect(isPermanentDbError({ code: "P2024", message: "Timed out fetching a new connection from the pool" })).toBe(
      false,
    );
    expect(isPermanentDbError({ code: "57P01", message: "terminating connection due to administrator command" })).toBe(
      false,
    );
    expect(isPermanentDbError({ code: "40001", message: "could not serialize access" })).toBe(false);
  });

  it("constraints, bad data and malformed queries are permanent, also when wrapped", () => {
    expect(isPermanentDbError({ code: "P2002" })).toBe(true);
    expect(isPermanentDbError({ code: "23514" })).toBe(true);
    expect(isPermanentDbError({ code: "P2010", meta: { code: "22P02" } })).toBe(true);
    expect(isPermanentDbError(Object.assign(new Error("wrapped"), { cause: { originalCode: "42P01" } }))).toBe(true);
    expect(isPermanentDbError(new TypeError("x is not a function"))).toBe(true);
    expect(
      isPermanentDbError(Object.assign(new Error("Argument missing"), { name: "PrismaClientValidationError" })),
    ).toBe(true);
  });
});
