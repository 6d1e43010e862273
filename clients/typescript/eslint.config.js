// Lint: typescript-eslint's strict, type-checked rules on the sources, tests and examples.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "build/", "node_modules/", "src/generated/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["*.js", "scripts/*.mjs", "examples/browser/*.mjs", "examples/browser/*.js"] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // `() => resolve()` style callbacks read better than braces around one call.
      "@typescript-eslint/no-confusing-void-expression": "off",
    },
  },
  {
    // The gRPC transport passes generated client methods to one helper that calls them with
    // their client as `this` (method.call(client, ...)).
    files: ["src/grpc/transport.ts"],
    rules: { "@typescript-eslint/unbound-method": "off" },
  },
  {
    // node:test's test() and describe() return promises the runner itself awaits.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-floating-promises": "off" },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      globals: { console: "readonly", process: "readonly", document: "readonly", window: "readonly", location: "readonly", URL: "readonly", URLSearchParams: "readonly" },
    },
  },
);
