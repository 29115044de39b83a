"""Offline check of the Knative manifests: every overlay is built with `kubectl kustomize`
and each object is validated against a JSON schema.

    python infra/knative/validate.py            # all overlays under infra/knative/overlays
    python infra/knative/validate.py dev        # one of them

Core kinds (ConfigMap, Secret, ServiceAccount, ...) use the Kubernetes schemas shipped in the
pinned `kubernetes-validate` wheel (strict: unknown fields fail); Knative kinds use the
schemas kept in infra/knative/schemas/. A kind with no schema is an error, not a pass.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent
OVERLAYS = HERE / "overlays"
SCHEMAS = HERE / "schemas"
# The Kubernetes minor the core kinds are checked against (kubernetes-validate ships many).
KUBERNETES_VERSION = "1.33.0"
# apiVersion, kind -> schema file in infra/knative/schemas/
KNATIVE = {
    ("serving.knative.dev/v1", "Service"): "service-serving.knative.dev-v1.json",
    ("sources.knative.dev/v1", "PingSource"): "pingsource-sources.knative.dev-v1.json",
    ("sources.knative.dev/v1beta1", "KafkaSource"): "kafkasource-sources.knative.dev-v1beta1.json",
    ("eventing.knative.dev/v1alpha1", "KafkaSink"): "kafkasink-eventing.knative.dev-v1alpha1.json",
}


def kubectl() -> str:
    found = shutil.which("kubectl") or ("/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None)
    if found is None:
        raise SystemExit("knative-check: kubectl is needed (`kubectl kustomize` runs offline)")
    return found


def build(overlay: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize <overlay>` renders."""
    done = subprocess.run([kubectl(), "kustomize", str(overlay)], capture_output=True, text=True)
    if done.returncode != 0:
        raise ValueError(f"kubectl kustomize {overlay.name}: {done.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@functools.cache
def knative_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    name = KNATIVE.get((api_version, kind))
    if name is None:
        return None
    schema = json.loads((SCHEMAS / name).read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def errors(obj: dict[str, Any]) -> Iterator[str]:
    """What is wrong with one rendered object (nothing when it is valid)."""
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    validator = knative_validator(api_version, kind)
    if validator is not None:
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            yield f"{'/'.join(map(str, error.absolute_path)) or '.'}: {error.message}"
        return
    if "knative.dev/" in api_version:
        yield f"no schema in {SCHEMAS.name}/ for {api_version} {kind}"
        return
    import kubernetes_validate

    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        yield f"no Kubernetes {KUBERNETES_VERSION} schema for {api_version} {kind}"
    except kubernetes_validate.ValidationError as error:
        yield f"{'/'.join(map(str, error.absolute_path)) or '.'}: {error.message}"


def check(overlay: Path, objects: list[dict[str, Any]] | None = None) -> list[str]:
    """Problems of one overlay, each naming its object; empty when it is valid."""
    if objects is None:
        try:
            objects = build(overlay)
        except ValueError as error:
            return [str(error)]
    problems = []
    for obj in objects:
        where = f"{overlay.name}: {obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
        problems += [f"{where}: {problem}" for problem in errors(obj)]
    if not objects:
        problems.append(f"{overlay.name}: renders no objects")
    return problems


def overlays(names: list[str]) -> list[Path]:
    found = sorted(p for p in OVERLAYS.iterdir() if (p / "kustomization.yaml").is_file())
    return [p for p in found if not names or p.name in names]


def main(argv: list[str]) -> int:
    chosen = overlays(argv)
    if not chosen:
        print(f"knative-check: no overlay named {', '.join(argv)}", file=sys.stderr)
        return 1
    failed = False
    for overlay in chosen:
        try:
            objects = build(overlay)
        except ValueError as error:
            objects, problems = [], [str(error)]
        else:
            problems = check(overlay, objects)
        failed |= bool(problems)
        for problem in problems:
            print(f"knative-check: {problem}", file=sys.stderr)
        if not problems:
            kinds = ", ".join(sorted({o["kind"] for o in objects}))
            print(f"knative-check: {overlay.name} ok ({len(objects)} objects: {kinds})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
