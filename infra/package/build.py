"""Lambda artifacts: three layers and one zip per function, checked against Lambda's limits.

    python infra/package/build.py            # build dist/, print sizes and the API's cold import
    python infra/package/build.py --check    # only check an existing dist/ (no pip, no zipping)

Layers (each zip holds `python/...`, which Lambda unpacks under /opt/python):
- `ember`  the `ember` package (layers/ember/ember), byte-compiled;
- `base`   the core, api, events and aws extras' pins from pyproject.toml, as manylinux2014
           x86_64 cp311 wheels (never built here). boto3, botocore and s3transfer are left
           out: the Lambda Python 3.11 runtime ships them, and they are 20+ MB unzipped;
- `chain`  web3 and ccxt with whatever they need that `base` lacks: buy_tokens and burn, and
           burn_report, which reconciles the burns to chain through web3;
- `reports` the reports extra without weasyprint (no pango on Lambda): burn_report.

Functions (`dist/functions/<name>.zip`): the folder's app.py and its siblings at the zip root.

Fails (exit 1) when a zip is over 50 MB (direct upload), when a function with its layers is
over 250 MB unzipped, or when importing the API's app loads web3 or ccxt. pip downloads are
cached under .ember/pip-cache and each layer's install is reused while its pins are unchanged.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
STAGE = ROOT / ".ember" / "package"
PIP_CACHE = ROOT / ".ember" / "pip-cache"

MB = 1024 * 1024
MAX_ZIPPED = 50 * MB  # direct upload of a function or layer zip
MAX_UNZIPPED = 250 * MB  # a function and all its layers, unzipped

# The Lambda python3.11 runtime's own copies; imports find them after the layers.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# What chalice needs only for its deploy CLI (`chalice deploy`, prompts); `chalice.app`,
# all a Lambda imports, is standard library alone. ~25 MB unzipped.
CHALICE_CLI_ONLY = ("pip", "setuptools", "wheel", "inquirer", "blessed", "editor", "readchar",
                    "runs", "xmod", "jinxed", "wcwidth")
BASE_EXTRAS = ("api", "events", "aws")
CHAIN_EXTRAS = ("chain",)
# Finance reports' renderers (jinja2, weasyprint): only burn_report.
REPORTS_EXTRAS = ("reports",)
# weasyprint (the report's PDF) needs pango and cairo, which the Lambda runtime lacks: on
# Lambda the report is JSON, CSV and HTML; the PDF is printed where pango is (the Knative
# image). With it the layer is 69 MB and burn_report passes 250 MB.
NOT_ON_LAMBDA = ("weasyprint",)
# Loaded only by buy_tokens and burn; the API must never import them.
CHAIN_MODULES = ("web3", "ccxt")
# burn_report reconciles the burns to chain through web3, so it gets the chain layer too.
CHAIN_FUNCTIONS = ("buy_tokens", "burn", "burn_report")
REPORTS_FUNCTIONS = ("burn_report",)
LAYERS = ("ember", "base", "chain", "reports")
PIP_PLATFORM = ["--platform", "manylinux2014_x86_64", "--only-binary=:all:",
                "--python-version", "3.11", "--implementation", "cp"]
# Fixed timestamp: the same sources give byte-identical zips (stable hashes for terraform).
ZIP_DATE = (2024, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Artifact:
    path: Path
    zipped: int
    unzipped: int


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="check dist/ as it is; build nothing")
    parser.add_argument("--import-runs", type=int, default=3, help="fresh interpreters timed")
    args = parser.parse_args(argv)
    if not args.check:
        build()
    return check(import_runs=args.import_runs)


# --- build -------------------------------------------------------------------------------


def build() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    base_pins = list(project["dependencies"]) + [p for e in BASE_EXTRAS for p in extras[e]]
    chain_pins = [p for e in CHAIN_EXTRAS for p in extras[e]]
    reports_pins = [p for e in REPORTS_EXTRAS if e in extras for p in extras[e]
                    if normal(p.split("=")[0].split("[")[0]) not in NOT_ON_LAMBDA]

    # One resolution of every pin, so both layers carry the same version of what they share
    # (layers are merged into one /opt/python); each layer is then installed to it.
    constraints = resolve(base_pins + chain_pins + reports_pins)
    base = install("base", base_pins, constraints)
    move_dists(base, RUNTIME_PROVIDED, STAGE / "runtime-provided")
    drop_dists(base, {normal(n) for n in CHALICE_CLI_ONLY})
    chain = install("chain", chain_pins, constraints)
    drop_dists(chain, set(installed(base)) | {normal(n) for n in RUNTIME_PROVIDED})
    reports = install("reports", reports_pins, constraints)
    drop_dists(reports, set(installed(base)) | set(installed(chain))
               | {normal(n) for n in RUNTIME_PROVIDED})

    ember = STAGE / "ember" / "python"
    shutil.rmtree(ember.parent, ignore_errors=True)
    shutil.copytree(ROOT / "layers" / "ember" / "ember", ember / "ember",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    byte_compile(ember)

    for old in ("layers", "functions"):
        shutil.rmtree(DIST / old, ignore_errors=True)
    for name, staged in (("ember", ember), ("base", base), ("chain", chain), ("reports", reports)):
        write_zip(DIST / "layers" / f"{name}.zip", staged.parent)
    for folder in function_folders():
        write_zip(DIST / "functions" / f"{folder.name}.zip", folder, sources_only=True)


def pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", *args, "--quiet", "--disable-pip-version-check",
               "--no-warn-conflicts", "--cache-dir", str(PIP_CACHE), *PIP_PLATFORM]
    done = subprocess.run(command, env={**os.environ, "PIP_NO_INPUT": "1"},
                          stderr=subprocess.PIPE, text=True)
    # This machine's pip config names local index folders that may not exist: not news.
    noise = ("WARNING: Location 'file:",)
    sys.stderr.write("".join(line for line in done.stderr.splitlines(keepends=True)
                             if not line.startswith(noise)))
    if done.returncode != 0:
        raise SystemExit(f"package: pip {args[0]} failed (exit {done.returncode})")


def resolve(pins: list[str]) -> Path:
    """A constraints file pinning every distribution `pins` need, resolved once for Lambda."""
    key = digest(pins)
    constraints = STAGE / "constraints.txt"
    stamp = STAGE / "constraints.sha256"
    if stamp.is_file() and stamp.read_text() == key and constraints.is_file():
        return constraints
    STAGE.mkdir(parents=True, exist_ok=True)
    report = STAGE / "resolution.json"
    print(f"package: resolving {len(pins)} pins for manylinux2014_x86_64 cp311", file=sys.stderr)
    pip("install", "--dry-run", "--ignore-installed", "--report", str(report), *pins)
    chosen = {item["metadata"]["name"]: item["metadata"]["version"]
              for item in json.loads(report.read_text())["install"]}
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(chosen.items())))
    stamp.write_text(key)
    return constraints


def install(layer: str, pins: list[str], constraints: Path) -> Path:
    """`pins` installed for Lambda into .ember/package/<layer>/python; reused when unchanged."""
    target = STAGE / layer / "python"
    key = digest([*pins, constraints.read_text()])
    stamp = STAGE / layer / "installed.sha256"
    if stamp.is_file() and stamp.read_text() == key and target.is_dir():
        print(f"package: {layer} layer unchanged, reusing {rel(target)}", file=sys.stderr)
        return target
    shutil.rmtree(target.parent, ignore_errors=True)
    target.mkdir(parents=True)
    print(f"package: installing the {layer} layer ({len(pins)} pins)", file=sys.stderr)
    pip("install", "--no-compile", "--target", str(target), "--constraint", str(constraints), *pins)
    # pip puts console scripts under --target/bin; Lambda has no use for them.
    shutil.rmtree(target / "bin", ignore_errors=True)
    byte_compile(target)
    stamp.write_text(key)
    return target


def digest(parts: list[str]) -> str:
    return hashlib.sha256(json.dumps([parts, PIP_PLATFORM]).encode()).hexdigest()


def installed(site: Path) -> dict[str, str]:
    """Normalised distribution name -> version, from the *.dist-info folders in `site`."""
    found = {}
    for info in site.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        found[normal(name)] = version
    return found


def dist_files(site: Path, name: str) -> list[Path]:
    """Every top-level path that distribution `name` installed into `site` (from its RECORD)."""
    infos = [i for i in site.glob("*.dist-info") if normal(i.name.partition("-")[0]) == normal(name)]
    tops: set[Path] = set()
    for info in infos:
        tops.add(info)
        for line in (info / "RECORD").read_text().splitlines():
            first = line.split(",")[0].split("/")[0]
            if first and first != ".." and not first.endswith(".dist-info"):
                tops.add(site / first)
    return sorted(tops)


def move_dists(site: Path, names: tuple[str, ...], to: Path) -> None:
    """Moves distributions out of `site` into `to` (what the runtime already provides)."""
    to.mkdir(parents=True, exist_ok=True)
    for name in names:
        for path in dist_files(site, name):
            if path.exists():
                shutil.rmtree(to / path.name, ignore_errors=True)
                shutil.move(path, to / path.name)


def drop_dists(site: Path, names: set[str]) -> None:
    for name in sorted(set(installed(site)) & names):
        for path in dist_files(site, name):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def byte_compile(tree: Path) -> None:
    # Layers are read-only at run time: without .pyc every cold start compiles every module.
    # Unchecked-hash .pyc stay valid whatever mtimes the zip gives the sources.
    compileall.compile_dir(tree, quiet=2, workers=0,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)


def function_folders() -> list[Path]:
    return sorted(p for p in (ROOT / "functions").iterdir() if (p / "app.py").is_file())


def write_zip(path: Path, tree: Path, *, sources_only: bool = False) -> None:
    """`tree`'s files at the zip's root, in a fixed order with fixed timestamps."""
    path.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(f for f in tree.rglob("*") if f.is_file() and f.name != "installed.sha256")
    if sources_only:  # a function folder: what a local run left there is not shipped
        files = [f for f in files if "__pycache__" not in f.parts and f.suffix != ".pyc"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for file in files:
            info = zipfile.ZipInfo(file.relative_to(tree).as_posix(), ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if os.access(file, os.X_OK) else 0o644) << 16
            archive.writestr(info, file.read_bytes())


# --- check -------------------------------------------------------------------------------


def layers_of(function: str) -> tuple[str, ...]:
    """The layers a function is deployed with (terraform and the check use the same map)."""
    return (("ember", "base") + (("chain",) if function in CHAIN_FUNCTIONS else ())
            + (("reports",) if function in REPORTS_FUNCTIONS else ()))


def measure(path: Path) -> Artifact:
    with zipfile.ZipFile(path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    return Artifact(path, path.stat().st_size, unzipped)


def check(import_runs: int = 3) -> int:
    layer_zips = {p.stem: measure(p) for p in sorted((DIST / "layers").glob("*.zip"))}
    function_zips = {p.stem: measure(p) for p in sorted((DIST / "functions").glob("*.zip"))}
    if set(layer_zips) != set(LAYERS) or not function_zips:
        print(f"package: no complete dist/ at {rel(DIST)}; run `make package`", file=sys.stderr)
        return 1
    problems = []
    print(f"{'artifact':<28}{'zipped MB':>11}{'unzipped MB':>13}")
    for artifact in [*layer_zips.values(), *function_zips.values()]:
        print(f"{rel(artifact.path):<28}{artifact.zipped / MB:>11.3f}{artifact.unzipped / MB:>13.3f}")
        if artifact.zipped > MAX_ZIPPED:
            problems.append(f"{rel(artifact.path)} is {artifact.zipped / MB:.1f} MB zipped"
                            f" (limit {MAX_ZIPPED // MB} MB)")
    print(f"\n{'function + layers':<40}{'unzipped MB':>13}  (limit {MAX_UNZIPPED // MB} MB)")
    for name, artifact in function_zips.items():
        layers = layers_of(name)
        total = artifact.unzipped + sum(layer_zips[layer].unzipped for layer in layers)
        print(f"{name + ' + ' + ','.join(layers):<40}{total / MB:>13.2f}")
        if total > MAX_UNZIPPED:
            problems.append(f"{name} with its layers is {total / MB:.1f} MB unzipped"
                            f" (limit {MAX_UNZIPPED // MB} MB)")
    print()
    if "api" in function_zips:
        problems += check_import("api", import_runs)
    for name in CHAIN_FUNCTIONS:
        if name in function_zips:
            problems += check_import(name, 1)
    for problem in problems:
        print(f"package: FAIL {problem}", file=sys.stderr)
    print("package: ok" if not problems else f"package: {len(problems)} problem(s)")
    return 1 if problems else 0


IMPORT_PROBE = """
import sys, time, json
sys.path[:0] = json.loads(sys.argv[1])
started = time.perf_counter()
import app
elapsed = time.perf_counter() - started
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps({"seconds": elapsed, "chain_modules": loaded}))
"""


def check_import(function: str, runs: int) -> list[str]:
    """Imports a function's app in fresh interpreters that see only what Lambda would give it:
    the function zip (/var/task), its layers (/opt/python) and the runtime's boto3, botocore
    and s3transfer; no venv, no site-packages. The API must not load web3 or ccxt; a chain
    function must be able to (its layers are complete)."""
    runtime = STAGE / "runtime-provided"
    chain = function in CHAIN_FUNCTIONS
    with tempfile.TemporaryDirectory(prefix="ember-package-") as tmp:
        task, opt = Path(tmp) / "task", Path(tmp) / "opt"
        zipfile.ZipFile(DIST / "functions" / f"{function}.zip").extractall(task)
        for layer in layers_of(function):
            zipfile.ZipFile(DIST / "layers" / f"{layer}.zip").extractall(opt)
        path = [str(task), str(opt / "python")] + ([str(runtime)] if runtime.is_dir() else [])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1",
               "AWS_REGION": "us-east-1", "LANG": "C.UTF-8"}
        probe = IMPORT_PROBE + ("import web3, ccxt\n" if chain else "")
        results = []
        for _ in range(max(1, runs)):
            # -I: no PYTHON* variables, no user site; -S: not even the venv's site-packages.
            done = subprocess.run([sys.executable, "-I", "-S", "-c", probe, json.dumps(path),
                                   json.dumps(CHAIN_MODULES)], cwd=tmp, env=env,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                return [f"`import app` of functions/{function} failed with only its layers:"
                        f"\n{done.stderr}"]
            results.append(json.loads(done.stdout.splitlines()[0]))
    times = [r["seconds"] for r in results]
    where = "its layers + the runtime's boto3" if runtime.is_dir() else "its layers only"
    print(f"{function} cold `import app` ({where}, {len(times)} fresh interpreter(s)): median"
          f" {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms"
          + (", then `import web3, ccxt` ok" if chain else ""))
    loaded = sorted({m for r in results for m in r["chain_modules"]})
    if not chain and loaded:
        return [f"importing functions/{function}'s app loaded {', '.join(loaded)}"]
    if not chain:
        print(f"{function} imports none of: {', '.join(CHAIN_MODULES)}")
    return []


def normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
