#!/usr/bin/env node
// The Go side inlines dist/app.js and dist/app.css into report files, inside
// <script> and <style>: fail the build if the bundle holds a sequence that
// would end those elements early.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const checks = [
  ["app.js", /<\/script|<!--/i],
  ["app.css", /<\/style/i],
];
let bad = false;
for (const [name, re] of checks) {
  const text = readFileSync(join(dist, name), "utf8");
  const m = re.exec(text);
  if (m) {
    console.error(`dist/${name} contains ${JSON.stringify(m[0])} at ${m.index}: it cannot be inlined into a report file`);
    bad = true;
  }
}
if (bad) process.exit(1);
