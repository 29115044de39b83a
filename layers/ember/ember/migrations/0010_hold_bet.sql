-- depends: 0009_buybacks
-- A bet's writes in one statement, for both paths of PostgresBets.hold.
--
-- Python decides a bet (round, amount, balance, protection, the quote) and then calls
-- hold_bet, which takes the bet's locks (the round FOR KEY SHARE, the player's account FOR
-- UPDATE) and writes the bet, its hold transfer and its pool shard only if every fact the
-- decision relied on still holds under those locks. It decides nothing itself: when a fact
-- changed it writes nothing and names it.
-- - The optimistic path decides on an unlocked read and calls hold_bet in autocommit: two
--   statements instead of BEGIN, three reads, the insert and COMMIT (bench/bet_api). When a
--   fact changed, it decides again on the locked path.
-- - The locked path reads under the locks first (limits and exposure too), so every fact
--   holds unless a self-exclusion began in between.
--
-- Each statement below takes a fresh snapshot (READ COMMITTED, a VOLATILE function), so
-- the reads after the player's lock see what the previous holder of that lock committed.

CREATE FUNCTION hold_bet(
    p_bet uuid, p_round uuid, p_player text, p_account text, p_pool text, p_currency text,
    p_outcome integer, p_amount bigint, p_key text, p_digest text, p_now timestamptz,
    p_education jsonb, p_limits_checked boolean,
    OUT held text, OUT balance_after bigint
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_status text;
    v_balance bigint;
BEGIN
    -- The fact that failed, in the order the locked path checks them; 'held' when written.
    -- Betting is decided by the clock; only resolution (FOR UPDATE, which waits for this
    -- lock) ends it for good.
    SELECT status INTO v_status FROM rounds WHERE id = p_round FOR KEY SHARE;
    IF v_status IS NULL OR v_status IN ('settled', 'refunded') THEN
        held := 'round_final';
        RETURN;
    END IF;
    SELECT balance INTO v_balance FROM accounts WHERE id = p_account FOR UPDATE;
    IF v_balance IS NULL OR v_balance < p_amount THEN
        held := 'balance_short';
        RETURN;
    END IF;
    -- A decision that did not check limits was made for a player with none; one set since
    -- needs the locked path, which reads the limits and the exposure.
    IF (NOT p_limits_checked AND EXISTS (SELECT FROM player_limits WHERE player_id = p_player))
       OR EXISTS (SELECT FROM self_exclusions WHERE player_id = p_player
                     AND starts_at <= p_now AND ends_at > p_now) THEN
        held := 'protection_set';
        RETURN;
    END IF;
    INSERT INTO bets (id, round_id, player_id, outcome, amount, idempotency_key, request_hash,
                      placed_at, balance_after, education)
    VALUES (p_bet, p_round, p_player, p_outcome, p_amount, p_key, p_digest, p_now,
            v_balance - p_amount, p_education)
    ON CONFLICT (player_id, idempotency_key) DO NOTHING;
    IF NOT FOUND THEN
        -- A request with this key committed since the read: the locked path replays it.
        held := 'key_used';
        RETURN;
    END IF;
    -- The hold has the bet's id; the transfers trigger moves the balance (its CHECK is the
    -- last word on an overdraft).
    INSERT INTO transfers (id, debit_account, credit_account, currency, amount, kind, reference)
    VALUES (p_bet, p_account, p_pool, p_currency, p_amount, 'bet', p_round::text);
    INSERT INTO round_pool_shards AS s (round_id, outcome, shard, staked, bets)
    VALUES (p_round, p_outcome, abs(hashtext(p_player)) % 16, p_amount, 1)
    ON CONFLICT (round_id, outcome, shard)
    DO UPDATE SET staked = s.staked + EXCLUDED.staked, bets = s.bets + 1;
    held := 'held';
    balance_after := v_balance - p_amount;
END $$;
