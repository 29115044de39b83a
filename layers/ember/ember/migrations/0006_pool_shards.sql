-- depends: 0005_inbox
-- Live stakes per outcome for quotes and round views, kept in the bet's own transaction.
-- Summing a round's bets on every bet made each bet slower than the last; one counter per
-- (round, outcome) would be a row every bet updates. Sixteen shards per outcome, chosen
-- by player, keep both away: a bet updates one small row few others touch, and reading the
-- pools sums at most 16 rows per outcome. Settlement still sums the bets themselves.

CREATE TABLE round_pool_shards (
    round_id  uuid NOT NULL,
    outcome   integer NOT NULL,
    shard     smallint NOT NULL CHECK (shard BETWEEN 0 AND 15),
    staked    bigint NOT NULL CHECK (staked >= 0),
    bets      integer NOT NULL CHECK (bets >= 0),
    PRIMARY KEY (round_id, outcome, shard)
);

INSERT INTO round_pool_shards (round_id, outcome, shard, staked, bets)
SELECT round_id, outcome, abs(hashtext(player_id)) % 16, sum(amount), count(*)
  FROM bets GROUP BY 1, 2, 3;
