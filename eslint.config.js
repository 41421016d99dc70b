// Lint rules in the spirit of the project's style: promises are awaited or handled, exported
// functions say what they return, and functions and files stay small enough to read.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "eslint.config.js",
      "node_modules/",
      "dist/",
      "coverage/",
      ".state/",
      "canister/build/",
      "test/envtest/assets/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/explicit-module-boundary-types": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-non-null-assertion": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      complexity: ["error", 20],
      "max-depth": ["error", 4],
      "max-params": ["error", 5],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
      "max-lines": ["error", { max: 400, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Tests are tables and scenarios: long describe blocks are the norm there.
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "max-lines-per-function": "off",
      "max-lines": ["error", { max: 800, skipBlankLines: true, skipComments: true }],
      "max-params": "off",
      // Test harnesses decode wasm and the IC's HTTP interface: long switches by nature.
      complexity: "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      // Tests read untyped JSON of every kind (API objects, chart renders).
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
);
