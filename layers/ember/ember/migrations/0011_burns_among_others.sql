-- depends: 0010_hold_bet
-- Any holder of the token can burn, so another burn in the same block as ours makes the
-- supply fall by more than we burned. A burn is proven by its own transaction's logs
-- (services/burn.py); the supply only has to fall by at least that much in its block.
DO $$
DECLARE
    v_name text;
BEGIN
    SELECT conname INTO STRICT v_name FROM pg_constraint
     WHERE conrelid = 'burns'::regclass AND contype = 'c'
       AND pg_get_constraintdef(oid) LIKE '%supply_before - supply_after%';
    EXECUTE format('ALTER TABLE burns DROP CONSTRAINT %I', v_name);
END $$;

ALTER TABLE burns ADD CONSTRAINT burns_supply_fell_by_the_burn
    CHECK (status = 'pending' OR burned = 0 OR
           (burn_tx_hash IS NOT NULL AND supply_before - supply_after >= burned));
