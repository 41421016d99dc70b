// The IDL the ic backend calls the canister through must be ledger.did, method for method: a
// small parser turns the committed ledger.did into @dfinity/candid types and both are compared
// in Candid's own notation.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { IDL } from "@dfinity/candid";
import { describe, expect, it } from "vitest";
import { idlFactory } from "../../../src/ledger/ic/idl.ts";

const DID = readFileSync(join(import.meta.dirname, "..", "..", "..", "canister", "ledger.did"), "utf8");

/** Parses the subset of Candid that ledger.did uses into IDL types. */
function parseDid(source: string): { service: Map<string, IDL.FuncClass> } {
  const tokens = source.replace(/\/\/[^\n]*/g, "").match(/[A-Za-z_][A-Za-z0-9_]*|->|[{}();:=,]/g) ?? [];
  let at = 0;
  const peek = () => tokens[at];
  const next = () => {
    const t = tokens[at++];
    if (t === undefined) throw new Error("ledger.did ends early");
    return t;
  };
  const expectToken = (t: string) => {
    const got = next();
    if (got !== t) throw new Error(`ledger.did: want ${t}, got ${got} at token ${at}`);
  };
  const named = new Map<string, () => IDL.Type>();
  const prims: Record<string, IDL.Type> = {
    text: IDL.Text,
    bool: IDL.Bool,
    nat64: IDL.Nat64,
    nat8: IDL.Nat8,
    nat: IDL.Nat,
    principal: IDL.Principal,
    blob: IDL.Vec(IDL.Nat8),
  };
  const fields = (): Record<string, IDL.Type> => {
    expectToken("{");
    const out: Record<string, IDL.Type> = {};
    while (peek() !== "}") {
      const name = next();
      expectToken(":");
      out[name] = type();
      if (peek() === ";") next();
    }
    expectToken("}");
    return out;
  };
  function type(): IDL.Type {
    const t = next();
    if (t === "vec") return IDL.Vec(type());
    if (t === "opt") return IDL.Opt(type());
    if (t === "record") return IDL.Record(fields());
    if (t === "variant") return IDL.Variant(fields());
    const prim = prims[t];
    if (prim !== undefined) return prim;
    const ref = named.get(t);
    if (ref === undefined) throw new Error(`ledger.did: unknown type ${t}`);
    return ref();
  }
  const params = (): IDL.Type[] => {
    expectToken("(");
    const out: IDL.Type[] = [];
    while (peek() !== ")") {
      if (tokens[at + 1] === ":") at += 2; // a parameter name
      out.push(type());
      if (peek() === ",") next();
    }
    expectToken(")");
    return out;
  };
  const service = new Map<string, IDL.FuncClass>();
  while (at < tokens.length) {
    const t = next();
    if (t === "type") {
      const name = next();
      expectToken("=");
      const start = at;
      type();
      const end = at;
      named.set(name, () => {
        const saved = at;
        at = start;
        const parsed = type();
        if (at !== end) throw new Error(`ledger.did: type ${name} parsed differently`);
        at = saved;
        return parsed;
      });
      if (peek() === ";") next();
    } else if (t === "service") {
      expectToken(":");
      expectToken("{");
      while (peek() !== "}") {
        const name = next();
        expectToken(":");
        const args = params();
        expectToken("->");
        const results = params();
        const annotations: string[] = [];
        while (peek() === "query") annotations.push(next());
        service.set(name, IDL.Func(args as [], results as [], annotations));
        if (peek() === ";") next();
      }
      expectToken("}");
    } else {
      throw new Error(`ledger.did: unexpected ${t}`);
    }
  }
  return { service };
}

describe("the ic backend's IDL", () => {
  const did = parseDid(DID).service;
  const ours = new Map((idlFactory({ IDL }) as IDL.ServiceClass)._fields);

  it("has exactly the methods ledger.did declares", () => {
    expect([...ours.keys()].sort()).toEqual([...did.keys()].sort());
    expect(did.size).toBeGreaterThan(8);
  });

  it("gives every method the type, and query mode, that ledger.did gives it", () => {
    for (const [name, func] of did)
      expect(`${name}: ${ours.get(name)?.display()}`).toBe(`${name}: ${func.display()}`);
  });

  it("would notice a difference (the parser reads the types, not only the names)", () => {
    const changed = parseDid(DID.replace("leaf_hash: blob;", "leaf_hash: text;")).service;
    expect(changed.get("append")?.display()).not.toBe(ours.get("append")?.display());
    const notQuery = parseDid(DID.replace("(vec Leaf) query", "(vec Leaf)")).service;
    expect(notQuery.get("entries")?.display()).not.toBe(ours.get("entries")?.display());
  });
});
