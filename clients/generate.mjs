// openapi-typescript, as its documentation shows for files: `format: binary`
// becomes `Blob` (a multipart upload's file, an image answer) instead of `string`.
//
//   node generate.mjs openapi.json schema.d.ts
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const [input, output] = process.argv.slice(2);
const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));
const ast = await openapiTS(pathToFileURL(input), {
  transform(schema) {
    if (schema.format === "binary") return BLOB;
    return undefined;
  },
});
writeFileSync(output, astToString(ast));
