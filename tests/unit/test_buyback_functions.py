"""The buy_tokens and burn functions register for the local event source mapping."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_functions_register_their_consumers_from_their_files():
    code = ("from ember.runtime.consumers.registry import load\n"
            "registry = load('functions/buy_tokens/app.py, functions/burn/app.py')\n"
            "load('functions/burn/app.py')  # imported once per process\n"
            "for name in registry:\n"
            "    print(name, ','.join(registry.get(name).topics))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"}).stdout.split("\n")
    assert out[:2] == ["burn ember.buybacks", "buy_tokens ember.commission"]
