-- SPDX-License-Identifier: Apache-2.0
-- 0007: verification of decisions made from the Redis cache.

-- Raises SQLSTATE AC001 unless got = want. The writer updates the open alerts
-- the cache named with "... AND status <> 'resolved'" and checks the row count
-- here, inside the transaction: a stale cache entry (an alert resolved through
-- the API or the sweeper) aborts the group, which is retried from PostgreSQL.
CREATE FUNCTION ac_expect_rows(got bigint, want integer) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    IF got <> want THEN
        RAISE EXCEPTION 'stale open-alert cache: % of % alerts still open', got, want
            USING ERRCODE = 'AC001';
    END IF;
    RETURN got;
END $$;
