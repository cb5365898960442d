-- A page of operations read from one index: an index by day that carries each operation's JSON,
-- so that GET /transactions reads a page's 500 operations in the index's order without looking
-- each one up in the table (a seek from the index to the table per operation: 16 % of the bank's
-- time on a page's first read, BENCHMARKS.md). The page's query reads only the filter's
-- columns (bank, account, day, seq) and the JSON, all of them in this index.
--
-- The index by day stays beside it: a count over days (the last page of a paged bank) reads
-- ten times fewer pages of it than of this one, whose entries hold the JSON; the count names it
-- (`INDEXED BY`, accounts.rs), since without statistics SQLite takes either. What it costs: the
-- JSON a second time on disk (about 450 bytes an operation), and a write of an operation's JSON
-- writes this index too.
--
-- SQLite only. PostgreSQL's pages are not made faster by an index holding the JSON (an
-- index-only scan measured 2,387 pages/s against 2,333 by the table, within noise), and its
-- index entries are limited to about 2.7 kB: see ../postgres/0011_pages_from_the_index.sql.

CREATE INDEX transactions_page ON transactions (bank_code, account_id, imputation_date, seq, json);
