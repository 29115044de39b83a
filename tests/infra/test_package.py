"""Lambda packaging (infra/package/build.py): the layer plan and the zips. Building the layers
needs PyPI and ~1.5 min, so the size limits and the API's import from its layers are checked
by `make package` itself, which fails when a zip or a function is over Lambda's limits."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("ember_infra_package_build",
                                              ROOT / "infra" / "package" / "build.py")
assert spec is not None and spec.loader is not None
build = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = build
spec.loader.exec_module(build)



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
