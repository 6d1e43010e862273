// The TypeScript types of an OpenAPI schema, as src/generated/openapi.ts holds them.
import openapiTS, { astToString } from "openapi-typescript";

const HEADER =
  "// Generated from Flipbook's OpenAPI schema (REST v1) by `npm run generate`. Do not edit.\n" +
  "/* eslint-disable */\n";

export async function openapiTypes(schema) {
  const ast = await openapiTS(schema, { alphabetize: true });
  return HEADER + astToString(ast);
}
