"""Benchmarks: `python -m bench [NAME]` runs every `bench/<name>.py` that has a main().

Each benchmark prints progress lines, then as its last line one JSON object:
`{"bench": name, "value": seconds, "baseline": seconds, "ratio": value/baseline, "target": ...}`.
"""
