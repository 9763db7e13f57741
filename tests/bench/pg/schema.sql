-- The PostgreSQL side of the end-to-end benchmark (tests/bench/e2e_bench.sh):
-- the same NDJSON events kehu ingests, loaded with COPY into one table, one
-- jsonb document per event (protobuf's canonical JSON mapping, as kehu's
-- NDJSON import reads it). Logged and fsync'ed like kehu's log.
CREATE TABLE events (doc jsonb NOT NULL);
