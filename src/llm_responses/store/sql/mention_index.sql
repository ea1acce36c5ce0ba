-- The mentions index's outbox and rollups (store/mentions.py, store/facade.py): an answered task gets an
-- outbox row as it settles; the worker's indexer (tasks/indexer.py) claims rows in batches, writes the
-- answers' index rows and adds them to the rollups, and deletes the rows, in one transaction.

-- name: insert_mention_outbox_bulk
-- (task id, queued at, replace); a task queued again for a re-index keeps one row, replacing if either asks
INSERT INTO mention_outbox (task_id, queued_at, replace) VALUES ($1, $2, $3)
ON CONFLICT (task_id) DO UPDATE SET replace = mention_outbox.replace OR excluded.replace

-- name: claim_mention_outbox
-- the oldest rows nobody holds (a lease that ran out is free again: its indexer died mid-batch)
UPDATE mention_outbox SET lease_owner = $3, lease_until = $2, attempts = attempts + 1
WHERE task_id IN (
    SELECT task_id FROM mention_outbox WHERE lease_until < $1 ORDER BY queued_at LIMIT $4
) AND lease_until < $1
RETURNING task_id, replace

-- name: outbox_tasks
-- the claimed tasks as the index reads them (a task gone or no longer answered is dropped from the outbox)
SELECT id, account_id, se, endpoint, status, status_code, status_message, data_json, result_json, tag,
    cost, created_at, finished_at, collected_at, COALESCE(project_id, 0) AS project_id
FROM tasks WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'done' AND result_json IS NOT NULL

-- name: delete_mention_outbox
DELETE FROM mention_outbox WHERE task_id IN (SELECT value FROM json_each($1)) AND lease_owner = $2

-- name: enqueue_project_reindex
-- every answer of a project, to be read again with its brands as they are now
INSERT INTO mention_outbox (task_id, queued_at, replace)
SELECT id, $2, true FROM tasks WHERE project_id = $1 AND status = 'done' AND result_json IS NOT NULL
ON CONFLICT (task_id) DO UPDATE SET replace = true

-- name: mention_outbox_backlog
-- rows waiting and the oldest one's age (seconds), for /metrics: bounded like the queue's read (at most $2
-- rows counted, the oldest among them)
SELECT COUNT(*), COALESCE($1 - MIN(queued_at), 0) FROM (SELECT queued_at FROM mention_outbox LIMIT $2) w

-- name: answer_ids_of_tasks
SELECT id FROM mention_answers WHERE task_id IN (SELECT value FROM json_each($1))

-- name: rollup_answers
-- $2 = 1 adds the answers ($1: their ids) to the per-day rollups, -1 takes them out again (a re-index)
INSERT INTO mention_rollups (account_id, project_id, day, platform, model_name, location_code, brand, competitor,
    answers, with_citations)
SELECT a.account_id, a.project_id, a.day, a.platform, a.model_name, COALESCE(a.location_code, 0), '', false,
    $2 * COUNT(*), $2 * SUM(CASE WHEN a.cited_domains <> '[]' THEN 1 ELSE 0 END)
FROM mention_answers a WHERE a.id IN (SELECT value FROM json_each($1))
GROUP BY a.account_id, a.project_id, a.day, a.platform, a.model_name, COALESCE(a.location_code, 0)
ON CONFLICT (account_id, project_id, day, platform, model_name, location_code, brand) DO UPDATE SET
    answers = mention_rollups.answers + excluded.answers,
    with_citations = mention_rollups.with_citations + excluded.with_citations

-- name: rollup_brands
INSERT INTO mention_rollups (account_id, project_id, day, platform, model_name, location_code, brand, competitor,
    mentions, citations, positions, position_sum, negated)
SELECT a.account_id, a.project_id, a.day, a.platform, a.model_name, COALESCE(a.location_code, 0), b.brand,
    CASE WHEN SUM(CASE WHEN b.competitor THEN 1 ELSE 0 END) > 0 THEN true ELSE false END,
    $2 * SUM(CASE WHEN b.mentioned THEN 1 ELSE 0 END), $2 * SUM(CASE WHEN b.cited THEN 1 ELSE 0 END),
    $2 * COUNT(b.position), $2 * COALESCE(SUM(b.position), 0), $2 * SUM(CASE WHEN b.negated THEN 1 ELSE 0 END)
FROM mention_answers a JOIN mention_brands b ON b.answer_id = a.id
WHERE a.id IN (SELECT value FROM json_each($1))
GROUP BY a.account_id, a.project_id, a.day, a.platform, a.model_name, COALESCE(a.location_code, 0), b.brand
ON CONFLICT (account_id, project_id, day, platform, model_name, location_code, brand) DO UPDATE SET
    competitor = excluded.competitor,
    mentions = mention_rollups.mentions + excluded.mentions,
    citations = mention_rollups.citations + excluded.citations,
    positions = mention_rollups.positions + excluded.positions,
    position_sum = mention_rollups.position_sum + excluded.position_sum,
    negated = mention_rollups.negated + excluded.negated

-- name: rollup_prompt_answers
INSERT INTO mention_prompt_rollups (account_id, project_id, prompt_hash, day, platform, model_name, location_code,
    brand, competitor, answers, with_citations)
SELECT a.account_id, a.project_id, a.prompt_hash, a.day, a.platform, a.model_name, COALESCE(a.location_code, 0),
    '', false, $2 * COUNT(*), $2 * SUM(CASE WHEN a.cited_domains <> '[]' THEN 1 ELSE 0 END)
FROM mention_answers a WHERE a.id IN (SELECT value FROM json_each($1))
GROUP BY a.account_id, a.project_id, a.prompt_hash, a.day, a.platform, a.model_name, COALESCE(a.location_code, 0)
ON CONFLICT (account_id, project_id, prompt_hash, day, platform, model_name, location_code, brand) DO UPDATE SET
    answers = mention_prompt_rollups.answers + excluded.answers,
    with_citations = mention_prompt_rollups.with_citations + excluded.with_citations

-- name: rollup_prompt_brands
INSERT INTO mention_prompt_rollups (account_id, project_id, prompt_hash, day, platform, model_name, location_code,
    brand, competitor, mentions, citations, positions, position_sum, negated)
SELECT a.account_id, a.project_id, a.prompt_hash, a.day, a.platform, a.model_name, COALESCE(a.location_code, 0),
    b.brand, CASE WHEN SUM(CASE WHEN b.competitor THEN 1 ELSE 0 END) > 0 THEN true ELSE false END,
    $2 * SUM(CASE WHEN b.mentioned THEN 1 ELSE 0 END), $2 * SUM(CASE WHEN b.cited THEN 1 ELSE 0 END),
    $2 * COUNT(b.position), $2 * COALESCE(SUM(b.position), 0), $2 * SUM(CASE WHEN b.negated THEN 1 ELSE 0 END)
FROM mention_answers a JOIN mention_brands b ON b.answer_id = a.id
WHERE a.id IN (SELECT value FROM json_each($1))
GROUP BY a.account_id, a.project_id, a.prompt_hash, a.day, a.platform, a.model_name, COALESCE(a.location_code, 0),
    b.brand
ON CONFLICT (account_id, project_id, prompt_hash, day, platform, model_name, location_code, brand) DO UPDATE SET
    competitor = excluded.competitor,
    mentions = mention_prompt_rollups.mentions + excluded.mentions,
    citations = mention_prompt_rollups.citations + excluded.citations,
    positions = mention_prompt_rollups.positions + excluded.positions,
    position_sum = mention_prompt_rollups.position_sum + excluded.position_sum,
    negated = mention_prompt_rollups.negated + excluded.negated

-- name: rollup_daily_answers
INSERT INTO mention_daily_rollups (account_id, project_id, day, platform, brand, competitor, answers, with_citations)
SELECT a.account_id, a.project_id, a.day, a.platform, '', false, $2 * COUNT(*),
    $2 * SUM(CASE WHEN a.cited_domains <> '[]' THEN 1 ELSE 0 END)
FROM mention_answers a WHERE a.id IN (SELECT value FROM json_each($1))
GROUP BY a.account_id, a.project_id, a.day, a.platform
ON CONFLICT (account_id, project_id, day, platform, brand) DO UPDATE SET
    answers = mention_daily_rollups.answers + excluded.answers, with_citations = mention_daily_rollups.with_citations + excluded.with_citations

-- name: rollup_daily_brands
INSERT INTO mention_daily_rollups (account_id, project_id, day, platform, brand, competitor, mentions, citations, positions,
    position_sum, negated)
SELECT a.account_id, a.project_id, a.day, a.platform, b.brand,
    CASE WHEN SUM(CASE WHEN b.competitor THEN 1 ELSE 0 END) > 0 THEN true ELSE false END,
    $2 * SUM(CASE WHEN b.mentioned THEN 1 ELSE 0 END), $2 * SUM(CASE WHEN b.cited THEN 1 ELSE 0 END),
    $2 * COUNT(b.position), $2 * COALESCE(SUM(b.position), 0), $2 * SUM(CASE WHEN b.negated THEN 1 ELSE 0 END)
FROM mention_answers a JOIN mention_brands b ON b.answer_id = a.id
WHERE a.id IN (SELECT value FROM json_each($1))
GROUP BY a.account_id, a.project_id, a.day, a.platform, b.brand
ON CONFLICT (account_id, project_id, day, platform, brand) DO UPDATE SET
    competitor = excluded.competitor, mentions = mention_daily_rollups.mentions + excluded.mentions,
    citations = mention_daily_rollups.citations + excluded.citations, positions = mention_daily_rollups.positions + excluded.positions,
    position_sum = mention_daily_rollups.position_sum + excluded.position_sum, negated = mention_daily_rollups.negated + excluded.negated

-- name: rollup_prompt_totals_answers
INSERT INTO mention_prompt_totals (account_id, project_id, prompt_hash, platform, brand, competitor, answers, with_citations)
SELECT a.account_id, a.project_id, a.prompt_hash, a.platform, '', false, $2 * COUNT(*),
    $2 * SUM(CASE WHEN a.cited_domains <> '[]' THEN 1 ELSE 0 END)
FROM mention_answers a WHERE a.id IN (SELECT value FROM json_each($1))
GROUP BY a.account_id, a.project_id, a.prompt_hash, a.platform
ON CONFLICT (account_id, project_id, prompt_hash, platform, brand) DO UPDATE SET
    answers = mention_prompt_totals.answers + excluded.answers, with_citations = mention_prompt_totals.with_citations + excluded.with_citations

-- name: rollup_prompt_totals_brands
INSERT INTO mention_prompt_totals (account_id, project_id, prompt_hash, platform, brand, competitor, mentions, citations, positions,
    position_sum, negated)
SELECT a.account_id, a.project_id, a.prompt_hash, a.platform, b.brand,
    CASE WHEN SUM(CASE WHEN b.competitor THEN 1 ELSE 0 END) > 0 THEN true ELSE false END,
    $2 * SUM(CASE WHEN b.mentioned THEN 1 ELSE 0 END), $2 * SUM(CASE WHEN b.cited THEN 1 ELSE 0 END),
    $2 * COUNT(b.position), $2 * COALESCE(SUM(b.position), 0), $2 * SUM(CASE WHEN b.negated THEN 1 ELSE 0 END)
FROM mention_answers a JOIN mention_brands b ON b.answer_id = a.id
WHERE a.id IN (SELECT value FROM json_each($1))
GROUP BY a.account_id, a.project_id, a.prompt_hash, a.platform, b.brand
ON CONFLICT (account_id, project_id, prompt_hash, platform, brand) DO UPDATE SET
    competitor = excluded.competitor, mentions = mention_prompt_totals.mentions + excluded.mentions,
    citations = mention_prompt_totals.citations + excluded.citations, positions = mention_prompt_totals.positions + excluded.positions,
    position_sum = mention_prompt_totals.position_sum + excluded.position_sum, negated = mention_prompt_totals.negated + excluded.negated

-- name: rollup_prompt_texts
INSERT INTO mention_prompts (account_id, project_id, prompt_hash, question)
SELECT DISTINCT a.account_id, a.project_id, a.prompt_hash, a.question
FROM mention_answers a WHERE a.id IN (SELECT value FROM json_each($1))
ON CONFLICT (account_id, project_id, prompt_hash) DO NOTHING

-- name: prune_rollups
-- rows a re-index emptied (every count back to 0)
DELETE FROM mention_rollups WHERE account_id = $1 AND answers = 0 AND mentions = 0 AND citations = 0

-- name: prune_prompt_rollups
DELETE FROM mention_prompt_rollups WHERE account_id = $1 AND answers = 0 AND mentions = 0 AND citations = 0

-- name: prune_mention_daily_rollups
DELETE FROM mention_daily_rollups WHERE account_id = $1 AND answers = 0 AND mentions = 0 AND citations = 0

-- name: prune_mention_prompt_totals
DELETE FROM mention_prompt_totals WHERE account_id = $1 AND answers = 0 AND mentions = 0 AND citations = 0

-- name: enqueue_account_unindexed
-- an account's answers not in the index yet (the backfill)
INSERT INTO mention_outbox (task_id, queued_at, replace)
SELECT t.id, $2, false FROM tasks t
WHERE t.account_id = $1 AND t.status = 'done' AND t.result_json IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM mention_answers m WHERE m.task_id = t.id)
ON CONFLICT (task_id) DO NOTHING

-- name: enqueue_account_all
-- every answer of an account, read again (the brands changed)
INSERT INTO mention_outbox (task_id, queued_at, replace)
SELECT t.id, $2, true FROM tasks t WHERE t.account_id = $1 AND t.status = 'done' AND t.result_json IS NOT NULL
ON CONFLICT (task_id) DO UPDATE SET replace = true
