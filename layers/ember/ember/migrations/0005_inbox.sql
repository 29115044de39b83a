-- depends: 0004_player_protection
-- Exactly-once effects of at-least-once delivery: a consumer records each event it
-- handled in the same transaction as the event's effect.

CREATE TABLE inbox (
    consumer      text NOT NULL,
    event_id      uuid NOT NULL,
    event_type    text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('processed', 'dead_lettered')),
    handled_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Failed attempts per record, so a poison record is dead-lettered after N tries instead
-- of blocking its partition for ever.
CREATE TABLE consumer_failures (
    consumer    text NOT NULL,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    "offset"    bigint NOT NULL,
    attempts    integer NOT NULL,
    last_error  text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition, "offset")
);
