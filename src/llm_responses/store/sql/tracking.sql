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

-- name: delete_project_prompt_rollups
DELETE FROM mention_prompt_rollups WHERE account_id = $1 AND project_id = $2

-- name: delete_project_daily_rollups
DELETE FROM mention_daily_rollups WHERE account_id = $1 AND project_id = $2

-- name: delete_project_prompt_totals
DELETE FROM mention_prompt_totals WHERE account_id = $1 AND project_id = $2

-- name: delete_project_prompts
DELETE FROM mention_prompts WHERE account_id = $1 AND project_id = $2

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

-- runs ---------------------------------------------------------------------------------------------------

-- name: due_projects
SELECT id, account_id, name, spec, paused, next_run_at, version, created_at, updated_at
FROM projects WHERE next_run_at <= $1 AND NOT paused ORDER BY next_run_at LIMIT $2

-- name: advance_project
-- compare-and-set: of the workers that saw the same due project, one moves it on and runs the period
UPDATE projects SET next_run_at = $3 WHERE id = $1 AND next_run_at = $2

-- name: insert_run
INSERT INTO project_runs (project_id, account_id, period, trigger, status, scheduled_for, started_at,
    finished_at, tasks, estimate, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10)
ON CONFLICT (project_id, period) DO NOTHING
RETURNING id

-- name: add_run_tasks
UPDATE project_runs SET tasks = tasks + $2, status = $3, finished_at = $4, error = $5 WHERE id = $1

-- name: run_by_id
SELECT id, project_id, account_id, period, trigger, status, scheduled_for, started_at, finished_at, tasks,
    estimate, cost, error
FROM project_runs WHERE id = $1

-- name: runs_of
SELECT id, project_id, account_id, period, trigger, status, scheduled_for, started_at, finished_at, tasks,
    estimate, cost, error
FROM project_runs WHERE project_id = $1 ORDER BY id DESC LIMIT $2

-- name: open_runs
SELECT id, project_id, account_id, period, trigger, status, scheduled_for, started_at, finished_at, tasks,
    estimate, cost, error
FROM project_runs WHERE status = 'running' ORDER BY id LIMIT $1

-- name: earlier_runs
-- the project's finished runs before this one, newest first: what a run is compared with
SELECT id, project_id, account_id, period, trigger, status, scheduled_for, started_at, finished_at, tasks,
    estimate, cost, error
FROM project_runs WHERE project_id = $1 AND id < $2 AND started_at >= $3 AND status IN ('done', 'partial')
ORDER BY id DESC LIMIT $4

-- name: run_progress
-- the run's tasks by status, with what they cost (a queued task's hold, a settled one's charge)
SELECT status, COUNT(*), CAST(COALESCE(SUM(cost), 0) AS BIGINT) FROM tasks WHERE run_id = $1 GROUP BY status

-- name: finish_run
-- once: a run still running (or being posted, the demo's history)
UPDATE project_runs SET status = $2, finished_at = $3, cost = $4, error = COALESCE($5, error), tasks = $6
WHERE id = $1 AND status IN ('running', 'posting')

-- name: run_open_keys
-- the cells of a run that have an answer, or a task still on its way to one: resuming skips them
SELECT DISTINCT prompt_key FROM tasks WHERE run_id = $1 AND status IN ('done', 'queued', 'running', 'batched')

-- name: reopen_run
UPDATE project_runs SET status = 'running', finished_at = NULL, cost = NULL WHERE id = $1

-- name: project_spent_since
-- what the project's tasks posted since $2 cost (a task still running: its hold)
SELECT CAST(COALESCE(SUM(cost), 0) AS BIGINT) FROM tasks WHERE project_id = $1 AND created_at >= $2


-- name: run_unindexed
-- the run's answers still waiting in the mentions outbox: its metrics are not final before they are in
SELECT COUNT(*) FROM mention_outbox WHERE task_id IN (SELECT id FROM tasks WHERE run_id = $1)

-- name: run_answered_prompts
SELECT DISTINCT question FROM mention_answers WHERE run_id = $1

-- name: run_new_domains
-- domains the run's answers cite that no other answer of the project cited (reversed hosts: indexed)
SELECT DISTINCT l.domain FROM mention_links l JOIN mention_answers a ON a.id = l.answer_id
WHERE a.run_id = $1 AND l.scope = 's' AND NOT EXISTS (
    SELECT 1 FROM mention_links o JOIN mention_answers b ON b.id = o.answer_id
    WHERE o.account_id = l.account_id AND o.host_rev = l.host_rev AND o.scope = 's'
        AND b.project_id = a.project_id AND b.run_id <> $1
)
ORDER BY l.domain LIMIT $2

-- name: work_waiting
-- any task due for a worker or running, apart from the idle lane's: the demo's history waits for none
SELECT 1 WHERE EXISTS (SELECT 1 FROM tasks WHERE status = 'queued' AND run_after <= $1)
    OR EXISTS (SELECT 1 FROM tasks WHERE status = 'running' AND lane <> 'idle')

-- name: digest_projects
-- projects with a digest webhook (the spec is JSON with sorted keys: the flag reads "digest": true)
SELECT id, account_id, name, spec, paused, next_run_at, version, created_at, updated_at
FROM projects WHERE spec LIKE '%"digest": true%' ORDER BY id LIMIT $1
