// Compiles contracts/src (and the test-only contracts/test) with the pinned solc and writes
// deterministic artifacts, plus copies of the Uniswap V2 contracts from their npm packages,
// so Python never needs node_modules.
//
//   node build.mjs                       write the committed artifacts
//   node build.mjs --out DIR [--test-out DIR]   write elsewhere (contracts-check diffs them)
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..");
const NODE_MODULES = join(HERE, "node_modules");
const EVM_VERSION = "cancun";
const OPTIMIZER = { enabled: true, runs: 200 };
const DEFAULT_OUT = join(ROOT, "layers/ember/ember/adapters/chain/artifacts");
const DEFAULT_TEST_OUT = join(ROOT, "tests/integration/contracts/artifacts");

// Deployed as they are published: factory + pair from v2-core, router + WETH9 from
// v2-periphery (the router's init code hash matches that pair's bytecode).
const UNISWAP = [
  { name: "UniswapV2Factory", pkg: "@uniswap/v2-core" },
  { name: "UniswapV2Pair", pkg: "@uniswap/v2-core" },
  { name: "UniswapV2Router02", pkg: "@uniswap/v2-periphery" },
  { name: "WETH9", pkg: "@uniswap/v2-periphery" },
];

function parseArgs(argv) {
  const args = { out: DEFAULT_OUT, testOut: DEFAULT_TEST_OUT };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (!value) fail(`${flag} needs a directory`);
    if (flag === "--out") args.out = resolve(value);
    else if (flag === "--test-out") args.testOut = resolve(value);
    else fail(`unknown option ${flag}; usage: node build.mjs [--out DIR] [--test-out DIR]`);
  }
  return args;
}

function fail(message) {
  console.error(`build.mjs: ${message}`);
  process.exit(1);
}

/** JSON with keys sorted at every level, two-space indent and a trailing newline. */
function stableJson(value) {
  const sorted = (v) => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])]));
    }
    return v;
  };
  return JSON.stringify(sorted(value), null, 2) + "\n";
}

function sha256(text) {
  return createHash("sha256").update(text).digest("hex");
}

function hex(bytecode) {
  return bytecode.startsWith("0x") ? bytecode : `0x${bytecode}`;
}

/** Imports such as `@openzeppelin/contracts/...` resolve from contracts/node_modules only. */
function findImport(path) {
  try {
    return { contents: readFileSync(join(NODE_MODULES, path), "utf8") };
  } catch {
    return { error: `import not found in contracts/node_modules: ${path}` };
  }
}

function compile(folder) {
  const files = readdirSync(join(HERE, folder)).filter((f) => f.endsWith(".sol")).sort();
  const sources = Object.fromEntries(
    files.map((f) => [`${folder}/${f}`, { content: readFileSync(join(HERE, folder, f), "utf8") }]),
  );
  const input = {
    language: "Solidity",
    sources,
    settings: {
      optimizer: OPTIMIZER,
      evmVersion: EVM_VERSION,
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const diagnostics = output.errors ?? [];
  // Warnings about the libraries we import (OpenZeppelin's transient storage) are not ours to fix.
  const ours = diagnostics.filter((d) => d.severity === "error" || !d.sourceLocation?.file?.startsWith("@"));
  for (const d of ours) console.error(d.formattedMessage ?? d.message);
  if (diagnostics.some((d) => d.severity === "error")) fail(`compiler errors in ${folder}/`);
  const artifacts = {};
  for (const source of Object.keys(sources)) {
    const name = source.slice(folder.length + 1, -".sol".length);
    const contract = output.contracts?.[source]?.[name];
    if (!contract) fail(`${source} must define a contract named ${name}`);
    artifacts[name] = {
      contractName: name,
      source: `contracts/${source}`,
      sourceSha256: sha256(sources[source].content),
      compiler: `solc ${solc.version()}`,
      evmVersion: EVM_VERSION,
      optimizer: OPTIMIZER,
      abi: contract.abi,
      bytecode: hex(contract.evm.bytecode.object),
      deployedBytecode: hex(contract.evm.deployedBytecode.object),
    };
  }
  return artifacts;
}

function uniswapArtifacts() {
  const artifacts = {};
  for (const { name, pkg } of UNISWAP) {
    const pkgDir = join(NODE_MODULES, pkg);
    const version = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).version;
    const built = JSON.parse(readFileSync(join(pkgDir, "build", `${name}.json`), "utf8"));
    artifacts[name] = {
      contractName: name,
      package: pkg,
      packageVersion: version,
      source: `${pkg}/build/${name}.json`,
      abi: built.abi,
      bytecode: hex(built.bytecode),
      deployedBytecode: hex(built.evm.deployedBytecode.object),
    };
  }
  return artifacts;
}

/** Replaces every *.json in `dir` with `artifacts`, so a removed contract leaves no stale file. */
function write(dir, artifacts) {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith(".json")) rmSync(join(dir, f));
  for (const [name, artifact] of Object.entries(artifacts)) {
    writeFileSync(join(dir, `${name}.json`), stableJson(artifact));
  }
  const shown = relative(process.cwd(), dir) || ".";
  console.log(`build.mjs: ${Object.keys(artifacts).sort().join(", ")} -> ${shown}`);
}

const args = parseArgs(process.argv.slice(2));
write(args.out, { ...compile("src"), ...uniswapArtifacts() });
write(args.testOut, compile("test"));
