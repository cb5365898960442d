-- Regulatory statistics (RTS art. 32(4), EBA/GL/2018/07 guidelines 2.2-2.4): the outcome of the
-- API calls, aggregated per minute, bank, API version, category and server instance. SQLite
-- dialect; kept line for line with ../postgres/0005_stats.sql.
--
-- A failure is a call not answered within 30 s or answered with a server error (GL 2.4).
-- Calls are in arrival order within one instance. `category` is AIS, PIS, CBPII or OAUTH, or
-- ALL for the minute's calls of every category together (the runs of failures across
-- categories); figures are read from the category rows, runs from both.
CREATE TABLE api_minutes (
    bank_code          TEXT NOT NULL,
    api_version        TEXT NOT NULL,
    category           TEXT NOT NULL,
    -- Unix seconds of the minute's start.
    minute             INTEGER NOT NULL,
    -- The server process, random at its start: each process writes its own rows.
    instance           TEXT NOT NULL,
    calls              INTEGER NOT NULL,
    -- Answered 5xx.
    server_errors      INTEGER NOT NULL,
    -- Answered 4xx.
    client_errors      INTEGER NOT NULL,
    -- Answered after 30 s without a server error (server_errors + slow_calls = failures).
    slow_calls         INTEGER NOT NULL,
    total_micros       INTEGER NOT NULL,
    -- Failures before the minute's first success.
    leading_failures   INTEGER NOT NULL,
    -- Failures after the minute's last success.
    trailing_failures  INTEGER NOT NULL,
    -- The longest run of consecutive failures within the minute.
    max_failure_run    INTEGER NOT NULL,
    -- 1 when every call of the minute failed.
    all_failed         INTEGER NOT NULL,
    PRIMARY KEY (bank_code, api_version, category, minute, instance)
);
CREATE INDEX api_minutes_by_bank_minute ON api_minutes (bank_code, minute);
