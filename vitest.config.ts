import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The MLflow suite runs in `make test-mlflow` (its own CI step): a real mlflow server and a
    // 350 MB venv do not fit make test's 10 minutes.
    exclude: process.env["MODELCHAIN_TEST_MLFLOW"] === "1" ? [] : ["test/mlflow/**", "node_modules/**"],
    // Crash-injection, canister and control-plane suites spawn processes; on 2 cores
    // a couple of forks keep the run well under CI's budget without oversubscribing.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 180_000,
    reporters: ["default"],
  },
});
