// The Hub's URLs and its Link pagination header, read as huggingface_hub reads them (pure).
import { describe, expect, it } from "vitest";
import { hubFileUrl, hubTreeUrl, nextLink } from "../../src/artifact/hub-source.ts";

describe("the Hub's URLs", () => {
  it("names a file's resolve URL and a folder's recursive tree URL, each path segment encoded", () => {
    expect(hubFileUrl("https://hub.example/", "acme/llm", "main", "a b/c#d.json")).toBe(
      "https://hub.example/acme/llm/resolve/main/a%20b/c%23d.json",
    );
    expect(hubTreeUrl("https://hub.example/mirror", "acme/llm", "v1.0", "")).toBe(
      "https://hub.example/mirror/api/models/acme/llm/tree/v1.0?recursive=true",
    );
    expect(hubTreeUrl("https://hub.example", "acme/llm", "abc", "onnx/fp16")).toBe(
      "https://hub.example/api/models/acme/llm/tree/abc/onnx/fp16?recursive=true",
    );
  });
});

describe("nextLink", () => {
  it.each([
    ['<https://hub.example/api/x?cursor=abc>; rel="next"', "https://hub.example/api/x?cursor=abc"],
    ["<https://h/p?c=1>; rel=next", "https://h/p?c=1"],
    ['<https://h/prev>; rel="prev", <https://h/next>; rel="next"', "https://h/next"],
    ['<https://h/a,b>; rel="first next"', "https://h/a,b"],
    ['<https://h/prev>; rel="prev"', undefined],
    ['<https://h/n>; rel="nextpage"', undefined],
    ["", undefined],
    [undefined, undefined],
  ])("reads %j as %j", (header, next) => {
    expect(nextLink(header)).toBe(next);
  });
});
