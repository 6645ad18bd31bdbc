import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

// Two projects: unit tests sit beside their code; integration tests use real Postgres and Redis.
// Both fail on a stray console.error (AGENTS.md#test-levels) through tests/setup/no-console-error.ts.
export default defineConfig({
  resolve: { alias: { "@": root } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: [
            "lib/**/*.test.ts",
            "worker/**/*.test.ts",
            "sandbox/**/*.test.ts",
            "app/**/*.test.ts",
            "tests/lint/**/*.test.ts",
            "tests/deploy/**/*.test.ts",
          ],
          setupFiles: ["tests/setup/no-console-error.ts"],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          // one retry: a few timing-bound tests flake under a loaded 2-core CI machine (see the
          // closing notes); a real failure still fails twice
          retry: 1,
          include: ["tests/integration/**/*.test.ts"],
          setupFiles: ["tests/setup/no-console-error.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
