import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  actorOf,
  changedPaths,
  jsonPatch,
  redactData,
  redactDeep,
  valueDigest,
} from "../../src/trail/index.ts";

const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;

describe("redacted diffs", () => {
  it("digests env values with SHA-256 and keys the list by variable name", () => {
    const spec = {
      serving: {
        env: [
          { name: "TOKEN", value: "s3cret" },
          { name: "FROM", valueFrom: { secretKeyRef: { name: "k", key: "t" } } },
        ],
      },
    };
    expect(redactDeep(spec)).toEqual({
      serving: {
        env: {
          TOKEN: { value: sha("s3cret") },
          FROM: { valueFrom: { secretKeyRef: { name: "k", key: "t" } } },
        },
      },
    });
    expect(valueDigest("s3cret")).toBe(sha("s3cret"));
  });

  it("redacts env lists anywhere (every container of a pod template)", () => {
    const spec = {
      template: { spec: { containers: [{ name: "a", env: [{ name: "X", value: "1" }] }, { name: "b" }] } },
    };
    expect(JSON.stringify(redactDeep(spec))).not.toContain('"1"');
  });

  it("digests the values of probes' HTTP headers (an Authorization header is a secret)", () => {
    const probe = {
      httpGet: {
        path: "/health",
        port: 8000,
        httpHeaders: [{ name: "Authorization", value: "Bearer t0ken" }],
      },
    };
    const redacted = redactDeep({ serving: { livenessProbe: probe } });
    expect(redacted).toEqual({
      serving: {
        livenessProbe: {
          httpGet: {
            path: "/health",
            port: 8000,
            httpHeaders: { Authorization: { value: sha("Bearer t0ken") } },
          },
        },
      },
    });
    expect(JSON.stringify(redacted)).not.toContain("t0ken");
  });

  it("names the changed env variable in the patch path and records only digests", () => {
    const before = redactDeep({
      spec: {
        env: [
          { name: "LOG_LEVEL", value: "info" },
          { name: "A", value: "x" },
        ],
      },
    });
    const after = redactDeep({
      spec: {
        env: [
          { name: "A", value: "x" },
          { name: "LOG_LEVEL", value: "debug" },
        ],
      },
    });
    const patch = jsonPatch(before, after);
    expect(patch).toEqual([{ op: "replace", path: "/spec/env/LOG_LEVEL/value", value: sha("debug") }]);
    expect(JSON.stringify(patch)).not.toMatch(/debug|info/);
  });

  it("digests ConfigMap data per key and escapes key names as JSON Pointer (RFC 6901)", () => {
    const before = redactData({ settings: { "a/b": "1", keep: "same" } });
    const after = redactData({ settings: { "a/b": "2", keep: "same", added: "new" } });
    const patch = jsonPatch(before, after);
    expect(patch).toEqual([
      { op: "replace", path: "/settings/a~1b", value: sha("2") },
      { op: "add", path: "/settings/added", value: sha("new") },
    ]);
    expect(changedPaths(patch)).toEqual(["/settings/a/b", "/settings/added"]);
  });

  it("a creation is a patch from the empty document; a deletion removes every field", () => {
    expect(jsonPatch(null, { spec: { replicas: 1 } })).toEqual([
      { op: "add", path: "/spec", value: { replicas: 1 } },
    ]);
    expect(jsonPatch({ spec: { replicas: 1 } }, null)).toEqual([{ op: "remove", path: "/spec" }]);
  });
});

describe("actors", () => {
  it("recognises a service account by its user name and keeps uid and groups", () => {
    expect(
      actorOf({
        username: "system:serviceaccount:ml:deployer",
        uid: "u1",
        groups: ["system:serviceaccounts"],
      }),
    ).toEqual({
      username: "system:serviceaccount:ml:deployer",
      uid: "u1",
      groups: ["system:serviceaccounts"],
      serviceAccount: { namespace: "ml", name: "deployer" },
    });
    expect(actorOf({ username: "alice", uid: "", groups: [] }).serviceAccount).toBeNull();
  });
});
