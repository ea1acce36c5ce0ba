-- PostgreSQL's versions of alert_deliveries.sql's statements that differ (one array per column).

-- name: insert_alert_deliveries_bulk
INSERT INTO deliveries (account_id, kind, url, status, attempts, next_attempt_at, created_at, alert_id, format)
SELECT account_id, kind, url, status, 0, at, at, alert_id, format
FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::int[], $7::text[])
    AS v(account_id, kind, url, status, at, alert_id, format)
