#!/usr/bin/env node
// extract-github-openapi.mjs cuts GitHub's OpenAPI description down to the
// operations Vigil calls (plus the webhook payload schemas it receives) and
// every component they reference, transitively. The result is the contract
// the fake in adapters/github/githubtest validates requests and responses
// against, so a field GitHub would reject fails a test.
//
// Usage (see docs/GITHUB.md):
//
//   cd "$(mktemp -d)" && npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
//   node /work/main/scripts/extract-github-openapi.mjs package/generated/api.github.com.json \
//     > /work/main/adapters/github/githubtest/testdata/api.github.com.subset.json
//
// To call a new endpoint, add it to OPERATIONS (and a payload schema to
// WEBHOOK_SCHEMAS), run the command again and commit the new subset.

import { readFileSync } from "node:fs";

import { strip } from "./openapi-subset.mjs";

// OPERATIONS lists [method, path] pairs exactly as GitHub's description
// spells the path.
const OPERATIONS = [
  ["get", "/repos/{owner}/{repo}/security-advisories"],
  ["get", "/orgs/{org}/security-advisories"],
  ["get", "/repos/{owner}/{repo}/security-advisories/{ghsa_id}"],
  ["patch", "/repos/{owner}/{repo}/security-advisories/{ghsa_id}"],
  // Issue 7: open a draft advisory, request its CVE, start the temporary
  // private fork for the fix.
  ["post", "/repos/{owner}/{repo}/security-advisories"],
  ["post", "/repos/{owner}/{repo}/security-advisories/{ghsa_id}/cve"],
  ["post", "/repos/{owner}/{repo}/security-advisories/{ghsa_id}/forks"],
  // Issue 7: which of an organisation's repositories depend on a package
  // (their dependency graph as SPDX), and who owns them (CODEOWNERS).
  ["get", "/orgs/{org}/repos"],
  ["get", "/repos/{owner}/{repo}/dependency-graph/sbom"],
  ["get", "/repos/{owner}/{repo}/contents/{path}"],
  // GitHub App authentication: ghinstallation exchanges the app's JWT for
  // an installation token here.
  ["post", "/app/installations/{installation_id}/access_tokens"],
  // Issue 10: publish an incident write-up as an issue carrying the
  // incident label, created when missing.
  ["get", "/repos/{owner}/{repo}/labels/{name}"],
  ["post", "/repos/{owner}/{repo}/labels"],
  ["post", "/repos/{owner}/{repo}/issues"],
];

// GRAPHQL is not part of GitHub's REST description: POST /graphql (pinning
// and unpinning an issue exist only there). It is written here by hand so
// the fake routes it through the same checks: the envelope GitHub's GraphQL
// endpoint takes ({query, variables}) and answers ({data, errors}). The
// fake's handler checks the operation itself (mutation names, variables).
const GRAPHQL = {
  post: {
    operationId: "graphql/query",
    requestBody: {
      required: true,
      content: {
        "application/json": {
          schema: {
            type: "object",
            required: ["query"],
            additionalProperties: false,
            properties: {
              query: { type: "string", minLength: 1 },
              variables: { type: "object", additionalProperties: true },
              operationName: { type: "string" },
            },
          },
        },
      },
    },
    responses: {
      200: {
        description: "Response",
        content: {
          "application/json": {
            schema: {
              type: "object",
              properties: {
                data: { type: "object", nullable: true, additionalProperties: true },
                errors: {
                  type: "array",
                  items: {
                    type: "object",
                    required: ["message"],
                    properties: {
                      type: { type: "string" },
                      message: { type: "string" },
                      path: { type: "array", items: {} },
                      locations: { type: "array", items: { type: "object" } },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

// WEBHOOK_SCHEMAS are components/schemas names of webhook payloads Vigil
// receives; tests check their sample deliveries against them.
const WEBHOOK_SCHEMAS = ["webhook-repository-advisory-reported"];

const src = process.argv[2];
if (!src) {
  console.error("usage: extract-github-openapi.mjs path/to/api.github.com.json > subset.json");
  process.exit(2);
}
const spec = JSON.parse(readFileSync(src, "utf8"));

const components = {};
const queue = [];
function collectRefs(node) {
  if (Array.isArray(node)) return node.forEach(collectRefs);
  if (node === null || typeof node !== "object") return;
  for (const [k, v] of Object.entries(node)) {
    if (k === "$ref" && typeof v === "string") queue.push(v);
    else collectRefs(v);
  }
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
  collectRefs(paths[path]);
}
paths["/graphql"] = GRAPHQL;
for (const name of WEBHOOK_SCHEMAS) queue.push(`#/components/schemas/${name}`);

while (queue.length > 0) {
  const ref = queue.pop();
  const m = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref);
  if (!m) {
    console.error(`unsupported $ref ${ref}`);
    process.exit(1);
  }
  const [, kind, name] = m;
  components[kind] ??= {};
  if (components[kind][name]) continue;
  const value = spec.components?.[kind]?.[name];
  if (value === undefined) {
    console.error(`dangling $ref ${ref}`);
    process.exit(1);
  }
  components[kind][name] = strip(value, kind === "responses");
  collectRefs(components[kind][name]);
}

// Sorted keys keep the committed file's diffs readable between versions.
function sorted(obj) {
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
}
for (const kind of Object.keys(components)) components[kind] = sorted(components[kind]);

const subset = {
  openapi: spec.openapi,
  info: {
    title: "GitHub REST API: the subset Vigil uses",
    version: spec.info.version,
    description:
      `Extracted by scripts/extract-github-openapi.mjs from @octokit/openapi ${spec.info.version} ` +
      `(generated/api.github.com.json). Do not edit by hand.`,
  },
  servers: spec.servers,
  paths: sorted(paths),
  components: sorted(components),
};
process.stdout.write(JSON.stringify(subset, null, 1) + "\n");
