-- Alerts through the webhook queue (store/alert_deliveries.py): their deliveries, the daily digest.

-- name: insert_alert_deliveries_bulk
INSERT INTO deliveries (account_id, kind, url, status, attempts, next_attempt_at, created_at, alert_id, format)
VALUES ($1, $2, $3, $4, 0, $5, $5, $6, $7)

-- name: digest_state
-- whether the project's digest of a day is recorded already, and how many alerts the day had
SELECT (SELECT COUNT(*) FROM alerts WHERE project_id = $2 AND dedupe = $3),
    (SELECT COUNT(*) FROM alerts
     WHERE account_id = $1 AND project_id = $2 AND created_at >= $4 AND created_at < $5 AND kind <> 'digest')

-- name: day_alerts
SELECT id, kind, brand, subject, message, created_at FROM alerts
WHERE account_id = $1 AND project_id = $2 AND created_at >= $3 AND created_at < $4 AND kind <> 'digest'
ORDER BY created_at, id LIMIT $5

-- name: insert_digest
-- one digest per project and day, however many processes try (the alerts' dedupe constraint)
INSERT INTO alerts (account_id, project_id, run_id, kind, brand, subject, message, detail, dedupe, created_at)
VALUES ($1, $2, NULL, 'digest', NULL, NULL, $3, $4, $5, $6)
ON CONFLICT (project_id, dedupe) DO NOTHING
RETURNING id

-- name: alert_deliveries
-- an alert's deliveries (one per webhook: a handful) with their attempts; no row when the alert is not the
-- account's, one row with NULL delivery columns when it has none
SELECT d.id, d.task_id, d.kind, d.url, d.status, d.attempts, d.next_attempt_at, d.created_at, d.finished_at,
       a.attempt, a.at, a.url, a.http_status, a.error, a.latency_ms, d.alert_id, d.format
FROM alerts l LEFT JOIN deliveries d ON d.alert_id = l.id LEFT JOIN delivery_attempts a ON a.delivery_id = d.id
WHERE l.id = $1 AND l.account_id = $2
ORDER BY d.id, a.attempt
