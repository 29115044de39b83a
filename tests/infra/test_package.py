"""Lambda packaging (infra/package/build.py). Building needs PyPI and ~1.5 min, so the suite
checks a dist/ that `make package` left, and skips that part when there is none."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("ember_infra_package_build",
                                              ROOT / "infra" / "package" / "build.py")
assert spec is not None and spec.loader is not None
build = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = build
spec.loader.exec_module(build)

DIST = build.DIST
needs_dist = pytest.mark.skipif(not (DIST / "layers" / "base.zip").is_file(),
                                reason="no dist/ here; `make package` builds it")


def test_only_the_functions_that_read_the_chain_get_the_chain_layer():
    for folder in build.function_folders():
        layers = build.layers_of(folder.name)
        assert layers[:2] == ("ember", "base")
        assert ("chain" in layers) == (folder.name in ("buy_tokens", "burn", "burn_report"))
    assert build.layers_of("api") == ("ember", "base")


def test_zips_are_reproducible_and_skip_bytecode(tmp_path):
    folder = tmp_path / "functions" / "f"
    (folder / "__pycache__").mkdir(parents=True)
    (folder / "app.py").write_text("handler = None\n")
    (folder / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"x")
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    build.write_zip(first, folder, sources_only=True)
    build.write_zip(second, folder, sources_only=True)
    assert first.read_bytes() == second.read_bytes()
    assert zipfile.ZipFile(first).namelist() == ["app.py"]


@needs_dist
def test_every_zip_and_function_is_within_lambda_limits():
    layers = {p.stem: build.measure(p) for p in (DIST / "layers").glob("*.zip")}
    functions = {p.stem: build.measure(p) for p in (DIST / "functions").glob("*.zip")}
    missing = {f.name for f in build.function_folders()} - set(functions)
    if missing or set(layers) != set(build.LAYERS):
        pytest.skip(f"dist/ predates {sorted(missing) or 'the layers'}; `make package` rebuilds it")
    for artifact in [*layers.values(), *functions.values()]:
        assert artifact.zipped <= build.MAX_ZIPPED, artifact.path
    for name, artifact in functions.items():
        total = artifact.unzipped + sum(layers[layer].unzipped for layer in build.layers_of(name))
        assert total <= build.MAX_UNZIPPED, name
    names = zipfile.ZipFile(DIST / "layers" / "ember.zip").namelist()
    assert "python/ember/runtime/http/wsgi.py" in names
    base = {n.split("/")[1] for n in zipfile.ZipFile(DIST / "layers" / "base.zip").namelist()}
    assert not base & {"boto3", "botocore", "web3", "ccxt", "pip"}


@needs_dist
def test_the_api_imports_from_its_layers_without_web3_or_ccxt():
    assert build.check_import("api", runs=1) == []
