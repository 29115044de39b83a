-- depends: 0006_pool_shards
-- Every transaction the technical wallet sends is an intent recorded here, signed, and
-- committed before it is broadcast. A retry of the same purpose finds the row and
-- re-broadcasts the very same signed bytes: one purpose, one nonce, one signature, ever.

-- The next nonce per sender, locked FOR UPDATE while one is allocated: submits of one
-- sender queue here, so two intents never get the same nonce nor leave a gap.
CREATE TABLE tx_nonces (
    chain_id    bigint NOT NULL CHECK (chain_id > 0),
    sender      text NOT NULL CHECK (sender ~ '^0x[0-9a-f]{40}$'),  -- lower case
    next_nonce  bigint NOT NULL CHECK (next_nonce >= 0),
    PRIMARY KEY (chain_id, sender)
);

CREATE TABLE tx_intents (
    purpose                   text PRIMARY KEY CHECK (purpose ~ '^\S{1,200}$'),  -- the caller's idempotency key
    chain_id                  bigint NOT NULL,
    sender                    text NOT NULL,
    nonce                     bigint NOT NULL CHECK (nonce >= 0),
    to_address                text CHECK (to_address ~ '^0x[0-9a-f]{40}$'),  -- NULL: contract creation
    value                     numeric(78, 0) NOT NULL CHECK (value >= 0),     -- wei
    data                      bytea NOT NULL,
    gas_limit                 bigint NOT NULL CHECK (gas_limit >= 21000),
    max_fee_per_gas           numeric(78, 0) NOT NULL CHECK (max_fee_per_gas > 0),
    max_priority_fee_per_gas  numeric(78, 0) NOT NULL
        CHECK (max_priority_fee_per_gas >= 0 AND max_priority_fee_per_gas <= max_fee_per_gas),
    raw_tx                    bytea NOT NULL CHECK (get_byte(raw_tx, 0) = 2),  -- EIP-1559 envelope
    tx_hash                   bytea NOT NULL UNIQUE CHECK (length(tx_hash) = 32),
    status                    text NOT NULL DEFAULT 'signed'
        CHECK (status IN ('signed', 'sent', 'mined', 'reverted', 'replaced')),
    block_number              bigint CHECK (block_number >= 0),
    gas_used                  bigint CHECK (gas_used > 0),
    created_at                timestamptz NOT NULL DEFAULT now(),
    sent_at                   timestamptz,
    finished_at               timestamptz,  -- mined, reverted or replaced
    UNIQUE (chain_id, sender, nonce),
    FOREIGN KEY (chain_id, sender) REFERENCES tx_nonces (chain_id, sender),
    -- a receipt (block, gas) exactly when the chain included it
    CHECK ((status IN ('mined', 'reverted')) = (block_number IS NOT NULL AND gas_used IS NOT NULL)),
    CHECK ((status IN ('mined', 'reverted', 'replaced')) = (finished_at IS NOT NULL)),
    CHECK (status = 'signed' OR sent_at IS NOT NULL OR status = 'replaced')
);
CREATE INDEX tx_intents_unfinished ON tx_intents (chain_id, sender, nonce)
    WHERE status IN ('signed', 'sent');

-- What was signed stays signed: only the status and the receipt of an intent may change,
-- and an intent is never deleted (it is the record of a nonce spent).
CREATE FUNCTION tx_intents_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'tx_intents rows are never deleted' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.purpose, NEW.chain_id, NEW.sender, NEW.nonce, NEW.to_address, NEW.value, NEW.data,
        NEW.gas_limit, NEW.max_fee_per_gas, NEW.max_priority_fee_per_gas, NEW.raw_tx, NEW.tx_hash,
        NEW.created_at)
       IS DISTINCT FROM
       (OLD.purpose, OLD.chain_id, OLD.sender, OLD.nonce, OLD.to_address, OLD.value, OLD.data,
        OLD.gas_limit, OLD.max_fee_per_gas, OLD.max_priority_fee_per_gas, OLD.raw_tx, OLD.tx_hash,
        OLD.created_at) THEN
        RAISE EXCEPTION 'a signed intent cannot change (purpose %)', OLD.purpose
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.status IN ('mined', 'reverted', 'replaced') AND NEW.status IS DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION 'intent % is final (%)', OLD.purpose, OLD.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tx_intents_signed_once BEFORE UPDATE OR DELETE ON tx_intents
    FOR EACH ROW EXECUTE FUNCTION tx_intents_guard();
