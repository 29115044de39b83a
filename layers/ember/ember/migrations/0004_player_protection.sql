-- depends: 0003_outbox
-- Player protection (limits, self-exclusion) and what each bet told its player.

CREATE TABLE player_limits (
    player_id       text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('deposit', 'loss', 'stake')),
    period          text NOT NULL CHECK (period IN ('24h', '7d', '30d')),
    amount          bigint CHECK (amount >= 0),          -- in force; NULL = no limit
    pending_amount  bigint CHECK (pending_amount >= 0),  -- a raise waiting for its cooling-off
    pending_at      timestamptz,                         -- when the raise applies
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (player_id, kind, period),
    CHECK (pending_at IS NOT NULL OR pending_amount IS NULL)
);

-- Append-only: an exclusion can be extended by a new row, never shortened or removed.
CREATE TABLE self_exclusions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    player_id   text NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at)
);
CREATE INDEX self_exclusions_player ON self_exclusions (player_id, ends_at DESC);
CREATE TRIGGER self_exclusions_append_only BEFORE UPDATE OR DELETE ON self_exclusions
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- The response a bet got, so a replay of its idempotency key returns the same body.
ALTER TABLE bets ADD COLUMN balance_after bigint, ADD COLUMN education jsonb;

CREATE INDEX deposits_player ON deposits (player_id, received_at);
CREATE INDEX rounds_resolved ON rounds (resolved_at) WHERE resolved_at IS NOT NULL;

-- bet_results gains resolved_at: loss limits count what came back within their window.
CREATE OR REPLACE VIEW bet_results AS
SELECT b.id, b.round_id, b.player_id, b.outcome, b.amount, b.placed_at, r.status AS round_status,
       CASE
           WHEN r.status = 'refunded' THEN b.amount
           WHEN r.status = 'settled' AND b.outcome = r.outcome
               THEN div(b.amount::numeric * (r.total_staked - r.commission), r.winning_stake)::bigint
           WHEN r.status = 'settled' THEN 0
       END AS returned,
       r.resolved_at
  FROM bets b JOIN rounds r ON r.id = b.round_id;
