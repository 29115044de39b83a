#!/usr/bin/env python3
"""Recompute Ember round outcomes from what was published. Standard library only.

Usage: python verify.py rounds.json      (or: python -m ember.verify rounds.json)

rounds.json is a list of published rounds, each with: id, outcome_count, seed_hash
(published at open), server_seed and salt (published at resolution) and outcome.
For every round it checks sha256(seed) == seed_hash, then recomputes
HMAC-SHA256(key=seed, msg=f"{id}:{salt}") → outcome index by rejection sampling
(attempt k > 0 uses msg f"{id}:{salt}:{k}"), and compares with the published outcome.
In production the salt is the hash of the first chain block stamped after the round's lock
(the API's verify view names it: `salt_block`); any node or explorer shows that block.
This file deliberately shares no code with Ember: it is the independent check.
"""

import hashlib
import hmac
import json
import sys

SPACE = 1 << 256


def recompute(seed_hex, round_id, salt, outcome_count):
    key = bytes.fromhex(seed_hex)
    limit = SPACE - SPACE % outcome_count
    attempt = 0
    while True:
        msg = f"{round_id}:{salt}" if attempt == 0 else f"{round_id}:{salt}:{attempt}"
        value = int.from_bytes(hmac.new(key, msg.encode(), hashlib.sha256).digest(), "big")
        if value < limit:
            return value % outcome_count
        attempt += 1


def check(round_):
    """A list of problems with one published round (empty when it verifies)."""
    seed = round_.get("server_seed")
    if not seed:
        return ["seed not published"]
    if hashlib.sha256(bytes.fromhex(seed)).hexdigest() != round_["seed_hash"]:
        return ["seed does not match the hash published at open"]
    if round_.get("salt") is None:
        return [] if round_.get("outcome") is None else ["outcome published without a salt"]
    expected = recompute(seed, round_["id"], round_["salt"], round_["outcome_count"])
    if expected != round_["outcome"]:
        return [f"outcome {round_['outcome']} published, {expected} recomputed"]
    return []


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        rounds = json.load(f)
    failures = 0
    for round_ in rounds:
        problems = check(round_)
        failures += bool(problems)
        print(f"{round_['id']} {'FAIL ' + '; '.join(problems) if problems else 'ok'}")
    print(f"{len(rounds) - failures} verified, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
