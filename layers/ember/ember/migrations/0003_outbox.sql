-- depends: 0002_rounds
-- Events written in the same transaction as the state change they announce.

CREATE TABLE outbox (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            uuid NOT NULL UNIQUE,
    topic         text NOT NULL,
    key           text NOT NULL,
    type          text NOT NULL,
    version       integer NOT NULL,
    occurred_at   timestamptz NOT NULL,
    payload       jsonb NOT NULL,
    published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
