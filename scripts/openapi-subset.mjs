// openapi-subset.mjs holds what the extract-*-openapi.mjs scripts share
// when they cut a vendor's OpenAPI description down to Vigil's subset.

// strip drops examples and prose, which do not take part in validation and
// are most of the size: every string "description" except a response's,
// which OpenAPI requires. (A property named "description" is an object, a
// schema, and stays.) isResponse marks node as a response object.
export function strip(node, isResponse = false) {
  if (Array.isArray(node)) return node.map((n) => strip(n));
  if (node === null || typeof node !== "object") return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "examples" || k === "example" || k === "externalDocs") continue;
    if (k === "description" && typeof v === "string" && !isResponse) continue;
    if (k === "responses" && v !== null && typeof v === "object" && !Array.isArray(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([code, r]) => [code, strip(r, true)]));
      continue;
    }
    out[k] = strip(v);
  }
  return out;
}
