import { describe, expect, it } from "vitest";
import { sameStatus } from "../../src/controller/modelversion.ts";

describe("sameStatus", () => {
  it("ignores key order, as the API server sorts the keys of what it returns", () => {
    const ours = { observedGeneration: 1, conditions: [{ type: "Verified", status: "False" }] };
    const served = { conditions: [{ status: "False", type: "Verified" }], observedGeneration: 1 };
    expect(sameStatus(ours, served)).toBe(true);
  });
  it("sees a changed value, a missing key and a reordered list", () => {
    const a = { conditions: [{ type: "A" }, { type: "B" }], index: 1 };
    expect(sameStatus(a, { ...a, index: 2 })).toBe(false);
    expect(sameStatus(a, { conditions: a.conditions })).toBe(false);
    expect(sameStatus(a, { ...a, conditions: [{ type: "B" }, { type: "A" }] })).toBe(false);
  });
  it("treats an absent status as empty, and undefined fields as absent", () => {
    expect(sameStatus(undefined, {})).toBe(true);
    expect(sameStatus({ a: undefined }, {})).toBe(true);
  });
});
