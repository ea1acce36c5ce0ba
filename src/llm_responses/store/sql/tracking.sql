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
