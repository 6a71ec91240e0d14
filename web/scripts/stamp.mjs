#!/usr/bin/env node
// Stamps dist/ with a hash of every build input, so a check (CI, the Go
// build) can tell that the committed bundle was built from the committed
// sources.
//
//   node scripts/stamp.mjs           write dist/stamp.txt
//   node scripts/stamp.mjs --check   exit 1 when dist/stamp.txt differs
//
// The hash is SHA-256 over the inputs in sorted order of their paths
// relative to web/ (with / separators), each fed as
// "<path>\0<byte length>\0<bytes>\0".
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const stampPath = join(root, "dist", "stamp.txt");

function walk(dir, out) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (st.isFile()) out.push(p);
  }
}

export function inputs() {
  const files = [];
  walk(join(root, "src"), files);
  walk(join(root, "scripts"), files);
  for (const name of readdirSync(root)) {
    if (/^vite\.config\.[^/]+$/.test(name) || ["package.json", "package-lock.json", "tsconfig.json", "index-dev.html"].includes(name)) {
      const p = join(root, name);
      if (statSync(p).isFile()) files.push(p);
    }
  }
  return files.map((p) => relative(root, p).split(sep).join("/")).sort();
}

export function computeStamp() {
  const h = createHash("sha256");
  for (const rel of inputs()) {
    const data = readFileSync(join(root, rel));
    h.update(rel + "\0" + data.length + "\0");
    h.update(data);
    h.update("\0");
  }
  return h.digest("hex");
}

const stamp = computeStamp();
if (process.argv.includes("--check")) {
  const recorded = existsSync(stampPath) ? readFileSync(stampPath, "utf8").trim() : "";
  if (recorded !== stamp) {
    console.error(
      recorded
        ? `web/dist is stale: web/dist/stamp.txt records ${recorded} but the sources hash to ${stamp}.\nRebuild it: cd web && npm ci && npm run build`
        : `web/dist/stamp.txt is missing. Build the UI: cd web && npm ci && npm run build`,
    );
    process.exit(1);
  }
  console.log(`web/dist is up to date (${stamp})`);
} else {
  writeFileSync(stampPath, stamp + "\n");
  console.log(`wrote dist/stamp.txt ${stamp}`);
}
