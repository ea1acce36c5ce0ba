-- Tracking projects, their runs and alerts (store/tracking.py); migration 0006 has the tables.

-- name: insert_project
INSERT INTO projects (account_id, name, spec, paused, next_run_at, version, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, 1, $6, $6)
ON CONFLICT (account_id, name) DO NOTHING
RETURNING id

-- name: update_project
-- a new spec: a new version (the indexer reads the brands of the version it sees)
UPDATE projects SET spec = $3, next_run_at = $4, version = version + 1, updated_at = $5
WHERE account_id = $1 AND name = $2
RETURNING id

-- name: project_by_name
SELECT id, account_id, name, spec, paused, next_run_at, version, created_at, updated_at
FROM projects WHERE account_id = $1 AND name = $2

-- name: project_by_id
SELECT id, account_id, name, spec, paused, next_run_at, version, created_at, updated_at
FROM projects WHERE id = $1

-- name: projects_of
SELECT id, account_id, name, spec, paused, next_run_at, version, created_at, updated_at
FROM projects WHERE account_id = $1 ORDER BY name LIMIT $2

-- name: project_specs
SELECT id, spec, version FROM projects WHERE id IN (SELECT value FROM json_each($1))

-- name: delete_project
DELETE FROM projects WHERE account_id = $1 AND name = $2 RETURNING id

-- name: delete_project_rollups
DELETE FROM mention_rollups WHERE account_id = $1 AND project_id = $2

-- name: set_project_paused
UPDATE projects SET paused = $3, next_run_at = $4, updated_at = $5 WHERE account_id = $1 AND name = $2
RETURNING id

-- name: insert_alert
-- a finding already recorded (the same dedupe key) is not recorded again
INSERT INTO alerts (account_id, project_id, run_id, kind, brand, subject, message, detail, dedupe, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (project_id, dedupe) DO NOTHING
RETURNING id

-- name: alerts_of_account
SELECT l.id, l.account_id, l.project_id, p.name, l.run_id, l.kind, l.brand, l.subject, l.message, l.detail,
    l.created_at
FROM alerts l JOIN projects p ON p.id = l.project_id
WHERE l.account_id = $1 AND ($2 = 0 OR l.project_id = $2) AND l.created_at >= $3 AND l.kind <> 'digest'
ORDER BY l.created_at DESC, l.id DESC LIMIT $4

-- name: alert_by_id
SELECT l.id, l.account_id, l.project_id, p.name, l.run_id, l.kind, l.brand, l.subject, l.message, l.detail,
    l.created_at
FROM alerts l JOIN projects p ON p.id = l.project_id
WHERE l.id = $1
