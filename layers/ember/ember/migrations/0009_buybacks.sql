-- depends: 0007_tx_intents
-- Buy-backs and burns: the commission pool's stable spent on the token, and the tokens
-- burned or sent to the dividend pool. Stable moves through the double-entry ledger
-- (transfers, bigint minor units); tokens through their own ledger in wei (numeric(78,0):
-- 10^18 wei per token overflows bigint after 9 tokens).

ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check CHECK (kind IN
    ('external', 'player', 'round_pool', 'commission_pool', 'withdrawals_pending', 'buyback'));

-- commission ──plan──► buybacks:in_flight ──bought──► buybacks:spent
--                             └──────refused────► commission
INSERT INTO accounts (id, kind, currency) VALUES
    ('buybacks:in_flight', 'buyback', 'USDT'),
    ('buybacks:spent', 'buyback', 'USDT');

CREATE TABLE buybacks (
    id                uuid PRIMARY KEY,
    status            text NOT NULL CHECK (status IN ('planned', 'bought', 'refused')),
    -- NULL only on a buy-back the guard refused before a venue was chosen.
    venue             text CHECK (venue IN ('dex', 'cex')),
    spend             bigint NOT NULL CHECK (spend > 0),           -- stable minor units
    currency          text NOT NULL,
    -- The guard's reference price, stable minor units per token wei, as an exact fraction.
    reference_num     numeric(78, 0) NOT NULL CHECK (reference_num > 0),
    reference_den     numeric(78, 0) NOT NULL CHECK (reference_den > 0),
    reference_source  text NOT NULL,
    min_tokens_out    numeric(78, 0) CHECK (min_tokens_out > 0),
    dry_run           boolean NOT NULL DEFAULT false,
    planned_at        timestamptz NOT NULL,
    tokens_received   numeric(78, 0) CHECK (tokens_received > 0),  -- wei, in the wallet
    -- What the venue actually took: a CEX fills whole lots, and the change (spend - spent)
    -- goes back to the commission pool.
    spent             bigint CHECK (spent > 0 AND spent <= spend),
    tx_hashes         text[],
    client_order_id   text,
    refused_code      text,
    refused_detail    text,
    finished_at       timestamptz,
    CHECK ((status = 'bought') = (tokens_received IS NOT NULL AND tx_hashes IS NOT NULL
                                  AND spent IS NOT NULL)),
    CHECK ((status = 'refused') = (refused_code IS NOT NULL)),
    CHECK ((status = 'planned') = (finished_at IS NULL)),
    CHECK (status = 'refused' OR (venue IS NOT NULL AND min_tokens_out IS NOT NULL)),
    CHECK (tokens_received IS NULL OR tokens_received >= min_tokens_out),
    CHECK (venue = 'cex' OR client_order_id IS NULL)
);
CREATE INDEX buybacks_planned ON buybacks (planned_at) WHERE status = 'planned';
CREATE INDEX buybacks_planned_at ON buybacks (planned_at);

CREATE TABLE burns (
    buyback_id        uuid PRIMARY KEY REFERENCES buybacks,
    status            text NOT NULL CHECK (status IN ('pending', 'done')),
    burned            numeric(78, 0) NOT NULL CHECK (burned >= 0),
    dividend          numeric(78, 0) NOT NULL CHECK (dividend >= 0),
    burn_share_bps    integer NOT NULL CHECK (burn_share_bps BETWEEN 0 AND 10000),
    burn_tx_hash      text,
    dividend_tx_hash  text,
    burn_block        bigint,
    -- totalSupply just before and at the burn's block, read from the chain
    supply_before     numeric(78, 0),
    supply_after      numeric(78, 0),
    created_at        timestamptz NOT NULL,
    finished_at       timestamptz,
    CHECK (burned + dividend > 0),
    CHECK ((status = 'done') = (finished_at IS NOT NULL)),
    CHECK (status = 'pending' OR burned = 0 OR
           (burn_tx_hash IS NOT NULL AND supply_before - supply_after = burned)),
    CHECK (status = 'pending' OR dividend = 0 OR dividend_tx_hash IS NOT NULL)
);

-- The token ledger: market ──bought──► wallet ──► burned | dividend_pool.
CREATE TABLE token_transfers (
    id              uuid PRIMARY KEY,                 -- from the caller: a retry is a no-op
    debit_account   text NOT NULL CHECK (debit_account IN ('market', 'wallet')),
    credit_account  text NOT NULL CHECK (credit_account IN ('wallet', 'burned', 'dividend_pool')),
    amount          numeric(78, 0) NOT NULL CHECK (amount > 0),
    kind            text NOT NULL CHECK (kind IN ('bought', 'burned', 'dividend')),
    buyback_id      uuid NOT NULL REFERENCES buybacks,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (debit_account <> credit_account)
);
CREATE INDEX token_transfers_buyback ON token_transfers (buyback_id);

CREATE VIEW token_balances AS
SELECT account, sum(delta)::numeric(78, 0) AS balance
  FROM (SELECT credit_account AS account, amount AS delta FROM token_transfers
        UNION ALL
        SELECT debit_account, -amount FROM token_transfers) moves
 GROUP BY account;

-- The wallet can only pass on tokens it received for that buy-back: checked per buy-back
-- at the end of each statement, so a burn or dividend is never recorded twice or invented.
CREATE FUNCTION token_transfers_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM (SELECT DISTINCT buyback_id FROM new_transfers) touched
                WHERE (SELECT coalesce(sum(CASE WHEN credit_account = 'wallet' THEN amount
                                                ELSE -amount END), 0)
                         FROM token_transfers t
                        WHERE t.buyback_id = touched.buyback_id
                          AND 'wallet' IN (t.debit_account, t.credit_account)) < 0) THEN
        RAISE EXCEPTION 'a buy-back would pass on more tokens than it bought'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER token_transfers_balanced AFTER INSERT ON token_transfers
    REFERENCING NEW TABLE AS new_transfers FOR EACH STATEMENT
    EXECUTE FUNCTION token_transfers_balanced();
CREATE TRIGGER token_transfers_append_only BEFORE UPDATE OR DELETE ON token_transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER token_transfers_no_truncate BEFORE TRUNCATE ON token_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- A finished buy-back or burn is final.
CREATE FUNCTION buyback_final_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status <> (CASE TG_TABLE_NAME WHEN 'burns' THEN 'pending' ELSE 'planned' END) THEN
        RAISE EXCEPTION '% row is final', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER buybacks_final BEFORE UPDATE OR DELETE ON buybacks
    FOR EACH ROW EXECUTE FUNCTION buyback_final_guard();
CREATE TRIGGER burns_final BEFORE UPDATE OR DELETE ON burns
    FOR EACH ROW EXECUTE FUNCTION buyback_final_guard();

-- Buy-backs are switched off here in an emergency, and by the EMBER_BUYBACKS_HALTED
-- setting (SSM on AWS); either one stops every buy and burn before it is sent.
CREATE TABLE buyback_controls (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    halted      boolean NOT NULL DEFAULT false,
    reason      text,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO buyback_controls (halted) VALUES (false);
