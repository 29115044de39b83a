import hashlib
import hmac
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from ember.domain.fairness import draw_outcome, new_seed, seed_hash


def test_seed_hash_is_sha256_of_the_seed_bytes():
    seed = new_seed()
    assert len(seed) == 64
    assert seed_hash(seed) == hashlib.sha256(bytes.fromhex(seed)).hexdigest()


def test_outcome_is_hmac_of_round_and_salt_read_as_integer():
    seed, round_id, salt = "11" * 32, "r-1", "ab" * 32
    digest = hmac.new(bytes.fromhex(seed), f"{round_id}:{salt}".encode(), hashlib.sha256).digest()
    assert draw_outcome(seed, round_id, salt, 2) == int.from_bytes(digest, "big") % 2


@given(st.binary(min_size=32, max_size=32), st.text(max_size=20), st.integers(2, 50))
def test_outcome_is_deterministic_and_in_range(seed, salt, n):
    first = draw_outcome(seed.hex(), "round", salt, n)
    assert first == draw_outcome(seed.hex(), "round", salt, n)
    assert 0 <= first < n


def test_draws_are_roughly_uniform_over_six_outcomes():
    seed = "42" * 32
    counts = Counter(draw_outcome(seed, f"r{i}", "salt", 6) for i in range(6000))
    assert set(counts) == set(range(6))
    assert all(800 < c < 1200 for c in counts.values())


def test_a_different_salt_changes_outcomes():
    seed = new_seed()
    a = [draw_outcome(seed, f"r{i}", "salt-a", 6) for i in range(50)]
    b = [draw_outcome(seed, f"r{i}", "salt-b", 6) for i in range(50)]
    assert a != b
