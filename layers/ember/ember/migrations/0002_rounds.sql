-- depends: 0001_ledger
-- Markets, rounds (with their terms copied at creation), bets, fairness seeds and salts.

CREATE TABLE markets (
    id               text PRIMARY KEY,
    title            text NOT NULL,
    outcomes         text[] NOT NULL CHECK (cardinality(outcomes) >= 2),
    interval_s       integer NOT NULL CHECK (interval_s > 0),
    bet_window_s     integer NOT NULL CHECK (bet_window_s > 0 AND bet_window_s < interval_s),
    commission_bps   integer NOT NULL CHECK (commission_bps BETWEEN 0 AND 1000),
    min_bet          bigint NOT NULL CHECK (min_bet > 0),
    max_bet          bigint NOT NULL CHECK (max_bet >= min_bet),
    resolve_grace_s  integer NOT NULL CHECK (resolve_grace_s > 0),
    active           boolean NOT NULL DEFAULT true,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rounds (
    id              uuid PRIMARY KEY,
    market_id       text NOT NULL REFERENCES markets,
    status          text NOT NULL CHECK (status IN ('scheduled', 'open', 'locked', 'settled', 'refunded')),
    open_at         timestamptz NOT NULL,
    lock_at         timestamptz NOT NULL,
    close_at        timestamptz NOT NULL,
    deadline        timestamptz NOT NULL,
    outcome_count   integer NOT NULL CHECK (outcome_count >= 2),
    commission_bps  integer NOT NULL CHECK (commission_bps BETWEEN 0 AND 1000),
    min_bet         bigint NOT NULL CHECK (min_bet > 0),
    max_bet         bigint NOT NULL CHECK (max_bet >= min_bet),
    seed_hash       text NOT NULL,                 -- published from open
    -- Published at resolution:
    server_seed     text,
    salt            text,
    outcome         integer,
    refund_reason   text,
    total_staked    bigint,
    winning_stake   bigint,
    commission      bigint,                        -- C = floor(T * bps / 10000)
    dust            bigint,                        -- rounding left by the payouts, to commission
    paid_out        bigint,
    refunded        bigint,
    resolved_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (market_id, open_at),
    CHECK (open_at < lock_at AND lock_at <= close_at AND close_at <= deadline),
    CHECK (outcome IS NULL OR (outcome >= 0 AND outcome < outcome_count)),
    CHECK ((status IN ('settled', 'refunded')) = (resolved_at IS NOT NULL)),
    -- Every unit of the pool is accounted for.
    CHECK (status <> 'settled' OR (outcome IS NOT NULL AND total_staked = paid_out + commission + dust)),
    CHECK (status <> 'refunded' OR (refund_reason IS NOT NULL AND total_staked = refunded))
);
CREATE INDEX rounds_due ON rounds (status, close_at);
CREATE INDEX rounds_market ON rounds (market_id, open_at DESC);

CREATE FUNCTION rounds_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IN ('settled', 'refunded') THEN
        RAISE EXCEPTION 'round % is already %', OLD.id, OLD.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER rounds_final BEFORE UPDATE ON rounds FOR EACH ROW EXECUTE FUNCTION rounds_guard();
CREATE TRIGGER rounds_no_delete BEFORE DELETE ON rounds FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- Kept apart from `rounds` so no query for a round's public view can reach a seed
-- before it is revealed (copied to rounds.server_seed at resolution).
CREATE TABLE round_seeds (
    round_id     uuid PRIMARY KEY REFERENCES rounds,
    server_seed  text NOT NULL
);

CREATE TABLE round_salts (
    round_id  uuid PRIMARY KEY REFERENCES rounds,
    salt      text NOT NULL,
    source    text NOT NULL,
    fixed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bets (
    id               uuid PRIMARY KEY,              -- also the id of its hold transfer
    round_id         uuid NOT NULL REFERENCES rounds,
    player_id        text NOT NULL,
    outcome          integer NOT NULL CHECK (outcome >= 0),
    amount           bigint NOT NULL CHECK (amount > 0),
    idempotency_key  text NOT NULL,
    request_hash     text NOT NULL,
    placed_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (player_id, idempotency_key),
    FOREIGN KEY (id) REFERENCES transfers DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX bets_round ON bets (round_id, outcome) INCLUDE (amount, player_id);
CREATE INDEX bets_player ON bets (player_id, placed_at DESC);
CREATE TRIGGER bets_append_only BEFORE UPDATE OR DELETE ON bets
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- What each bet got back, derived from its round's published totals (no per-bet write at
-- settlement): winners floor(stake * (T - C) / W), everyone their stake on a refund.
CREATE VIEW bet_results AS
SELECT b.id, b.round_id, b.player_id, b.outcome, b.amount, b.placed_at, r.status AS round_status,
       CASE
           WHEN r.status = 'refunded' THEN b.amount
           WHEN r.status = 'settled' AND b.outcome = r.outcome
               THEN div(b.amount::numeric * (r.total_staked - r.commission), r.winning_stake)::bigint
           WHEN r.status = 'settled' THEN 0
       END AS returned
  FROM bets b JOIN rounds r ON r.id = b.round_id;
