-- Every statement the store runs, by name, each written once. This file is what SQLite runs; PostgreSQL runs
-- it too except where postgres.sql overrides a statement by the same name.
--
-- Placeholders are named (:account_id), each value passed by its name; older statements number them, as
-- PostgreSQL's $1, $2, ... (store/queries.py numbers the named ones; SQLite reads $1 as ?1; a value may repeat).
-- A list argument (ids, a visiting order) is a JSON array read with json_each() here, a real array in the
-- PostgreSQL override. The overrides are where the dialects really differ: row locks where many processes
-- race for the same rows (FOR UPDATE, SKIP LOCKED), whole batches in one statement (unnest, COPY). A
-- statement whose body is only comments is a no-op in that dialect.
--
-- A "_bulk" statement runs once per row here (executemany) and once per batch on PostgreSQL, where its
-- override is written over unnest() of one array per column, or is a COPY.

-- name: ping
SELECT 1

-- meta ---------------------------------------------------------------------------------------------------

-- name: meta_set
INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value

-- name: meta_insert_if_missing
INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING

-- name: meta_get
SELECT value FROM meta WHERE key = $1

-- name: meta_with_prefix
-- a few keys at most (one per running worker): meta holds settings, never rows per task
SELECT key, value FROM meta WHERE key LIKE $1 || '%' ORDER BY key

-- name: meta_delete
DELETE FROM meta WHERE key = $1

-- name: schema_revision
-- the migration the database is at (alembic's table), for readiness
SELECT version_num FROM alembic_version

-- name: queue_stats
-- tasks of one status by engine, with the oldest one's creation time; at most $2 rows are read (those due
-- first, through the tasks_queue index), so a scrape costs a bounded scan however long the backlog is
SELECT se, COUNT(*), MIN(created_at) FROM (
    SELECT se, created_at FROM tasks WHERE status = $1 ORDER BY run_after LIMIT $2
) AS due GROUP BY se

-- accounts and the ledger ----------------------------------------------------------------------------------

-- name: insert_account
INSERT INTO accounts (login, password_hash, token_hash, balance, created_at)
VALUES (:login, :password_hash, :token_hash, :balance, :created_at)
RETURNING id

-- name: account_by_id
SELECT id, login, password_hash, token_hash, balance, created_at, timezone FROM accounts WHERE id = :id

-- name: account_by_login
SELECT id, login, password_hash, token_hash, balance, created_at, timezone FROM accounts WHERE login = :login

-- name: account_by_token_hash
SELECT id, login, password_hash, token_hash, balance, created_at, timezone FROM accounts
WHERE token_hash = :token_hash

-- name: list_accounts
SELECT id, login, password_hash, token_hash, balance, created_at, timezone FROM accounts ORDER BY id

-- name: top_up_by_login
UPDATE accounts SET balance = balance + :amount WHERE login = :login RETURNING id

-- name: reset_credentials
UPDATE accounts SET password_hash = :password_hash, token_hash = :token_hash WHERE login = :login RETURNING id

-- name: balance_for_update
-- the account's row lock serializes every money movement of the account (SQLite: BEGIN IMMEDIATE did)
SELECT balance FROM accounts WHERE id = :account_id

-- name: add_to_balance
UPDATE accounts SET balance = balance + :amount WHERE id = :account_id

-- name: lock_accounts
-- one writer: nothing to lock

-- name: add_to_balances_bulk
UPDATE accounts SET balance = balance + :amount WHERE id = :account_id

-- name: insert_ledger
INSERT INTO ledger (account_id, task_id, kind, amount, created_at)
VALUES (:account_id, :task_id, :kind, :amount, :created_at)

-- name: insert_ledger_bulk
INSERT INTO ledger (account_id, task_id, kind, amount, created_at)
VALUES (:account_id, :task_id, :kind, :amount, :created_at)

-- name: copy_ledger_bulk
-- a batch's charges: the same rows as insert_ledger_bulk, many at a time
INSERT INTO ledger (account_id, task_id, kind, amount, created_at)
VALUES (:account_id, :task_id, :kind, :amount, :created_at)

-- name: ledger_sum
SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger WHERE account_id = $1

-- name: ledger_sum_of_kind
SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger WHERE account_id = $1 AND kind = $2

-- name: ledger_sum_since_except_kind
SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger
WHERE account_id = $1 AND created_at >= $2 AND kind != $3

-- name: ledger_entries
SELECT kind, amount, task_id, created_at FROM ledger WHERE account_id = $1 ORDER BY id LIMIT $2

-- name: delete_ledger_of_tasks
DELETE FROM ledger WHERE task_id IN (SELECT value FROM json_each(:task_ids))

-- tasks: creation ---------------------------------------------------------------------------------------

-- name: insert_task
INSERT INTO tasks (id, account_id, se, endpoint, status, request_json, data_json, tag, postback_url,
    pingback_url, base_price, prepayment, cost, attempts, lease_owner, lease_until, run_after, created_at, lane,
    project_id, run_id, prompt_key)
VALUES (:id, :account_id, :se, :endpoint, :status, :request_json, :data_json, :tag, :postback_url,
    :pingback_url, :base_price, :prepayment, :cost, :attempts, :lease_owner, :lease_until, :run_after, :created_at,
    :lane, :project_id, :run_id, :prompt_key)

-- name: insert_tasks_bulk
INSERT INTO tasks (id, account_id, se, endpoint, status, request_json, data_json, tag, postback_url,
    pingback_url, base_price, prepayment, cost, attempts, lease_owner, lease_until, run_after, created_at, lane,
    project_id, run_id, prompt_key)
VALUES (:id, :account_id, :se, :endpoint, :status, :request_json, :data_json, :tag, :postback_url,
    :pingback_url, :base_price, :prepayment, :cost, :attempts, :lease_owner, :lease_until, :run_after, :created_at,
    :lane, :project_id, :run_id, :prompt_key)

-- name: delete_tasks
DELETE FROM tasks WHERE id IN (SELECT value FROM json_each(:ids))

-- tasks: the queue --------------------------------------------------------------------------------------

-- name: accounts_with_work
-- up to :limit account ids with tasks of status :queued, ascending from just after :after, found by a
-- loose index scan on tasks_fair: one index probe per account, not a scan of the queue (store/fair_claim.py)
WITH RECURSIVE acc(id, n) AS (
    SELECT (SELECT min(account_id) FROM tasks WHERE status = :queued AND account_id > :after), 1
    UNION ALL
    SELECT (SELECT min(account_id) FROM tasks WHERE status = :queued AND account_id > acc.id), n + 1
    FROM acc WHERE acc.id IS NOT NULL AND n < :limit
)
SELECT id FROM acc WHERE id IS NOT NULL

-- name: claim_fair
-- the accounts in :accounts (in visiting order) that are not in debt give up to :limit due tasks each; the
-- first of every account, then the second, ... are leased to :owner (one writer here, so nothing to
-- skip-lock)
WITH visit(account_id, ord) AS (SELECT value, key FROM json_each(:accounts)),
picked AS (
    SELECT t.id, t.account_id, t.run_after, v.ord
    FROM visit v
    JOIN accounts acc ON acc.id = v.account_id AND acc.balance >= 0
    JOIN tasks t ON t.rowid IN (
        SELECT rowid FROM tasks WHERE status = :queued AND account_id = v.account_id AND run_after <= :now
        ORDER BY run_after LIMIT :limit
    )
), ranked AS (
    SELECT id, ord, row_number() OVER (PARTITION BY account_id ORDER BY run_after) AS rn FROM picked
)
UPDATE tasks SET status = :running, lease_owner = :owner, lease_until = :lease_until, attempts = attempts + 1
WHERE id IN (SELECT id FROM ranked ORDER BY rn, ord LIMIT :limit)
RETURNING id, account_id, se, endpoint, request_json, attempts

-- name: extend_leases
UPDATE tasks SET lease_until = $1 WHERE id IN (SELECT value FROM json_each($2)) AND lease_owner = $3 AND status = $4

-- name: retry_later
-- an idle-lane task keeps its place out of the direct workers' way
UPDATE tasks SET status = :queued, lease_owner = NULL, lease_until = NULL, error_detail = :error,
    run_after = CASE WHEN lane = 'idle' THEN run_after ELSE :run_after END
WHERE id = :id AND status = :running AND attempts = :attempt

-- name: claim_idle
-- the idle lane's oldest queued tasks (a background project's), for a worker that has nothing else to do
UPDATE tasks SET status = :running, lease_owner = :owner, lease_until = :lease_until, attempts = attempts + 1
WHERE id IN (
    SELECT t.id FROM tasks t JOIN accounts a ON a.id = t.account_id AND a.balance >= 0
    WHERE t.lane = 'idle' AND t.status = :queued ORDER BY t.created_at LIMIT :limit
)
RETURNING id, account_id, se, endpoint, request_json, attempts

-- name: requeue_expired
-- queued tasks (task_post's, a tracking run's) whose worker vanished; a live call is never re-run
UPDATE tasks SET status = :queued, lease_owner = NULL, lease_until = NULL
WHERE status = :running AND endpoint <> 'live' AND lease_until < :now

-- name: abandoned_live
SELECT id, attempts, status FROM tasks WHERE status = :running AND endpoint = 'live' AND lease_until < :now

-- name: overdue
SELECT id, attempts, status FROM tasks
WHERE status IN (:queued, :running, :batched) AND endpoint <> 'live' AND created_at < :created_before

-- name: purge_mentions
-- the mentions index of the tasks purge_results is about to purge ($1, $2: done, failed)
DELETE FROM mention_answers WHERE task_id IN (
    SELECT id FROM tasks WHERE status IN ($1, $2) AND created_at < $3
)

-- name: purge_results
UPDATE tasks SET status = $1, request_json = NULL, data_json = NULL, result_json = NULL
WHERE status IN ($2, $3) AND created_at < $4

-- tasks: settlement -------------------------------------------------------------------------------------

-- name: tasks_to_settle
SELECT id, account_id, base_price, prepayment, endpoint, postback_url, pingback_url, status, attempts
FROM tasks WHERE id IN (SELECT value FROM json_each(:ids))

-- name: settle_tasks_bulk
UPDATE tasks SET status = :status, status_code = :status_code, status_message = :status_message,
    result_json = :result_json, money_spent = :money_spent, cost = :cost, input_tokens = :input_tokens,
    output_tokens = :output_tokens, reasoning_tokens = :reasoning_tokens, web_search_calls = :web_search_calls,
    error_detail = :error_detail, finished_at = :finished_at, batch_saved = :batch_saved, lease_owner = NULL,
    lease_until = NULL
WHERE id = :id

-- tasks: reading ----------------------------------------------------------------------------------------

-- name: get_task
SELECT id, account_id, se, endpoint, status, status_code, status_message, data_json, result_json, tag,
    cost, created_at, finished_at, collected_at
FROM tasks WHERE id = :id AND account_id = :account_id

-- name: mark_collected
UPDATE tasks SET collected_at = $2 WHERE id = $1 AND collected_at IS NULL

-- name: tasks_ready
-- one engine's tasks, as each engine's endpoint lists them; a postback task only when its delivery failed
-- (DataForSEO's documented rule)
SELECT id, se, tag, created_at FROM tasks
WHERE account_id = $1 AND finished_at >= $2 AND collected_at IS NULL AND endpoint = 'task_post'
    AND status IN ($3, $4) AND (postback_url IS NULL OR postback_state IN ('failing', 'failed')) AND se = $6
ORDER BY finished_at LIMIT $5

-- name: count_tasks
SELECT COUNT(*) FROM tasks

-- name: count_tasks_with_status
SELECT COUNT(*) FROM tasks WHERE status = $1

-- webhook deliveries ------------------------------------------------------------------------------------

-- name: insert_deliveries_bulk
INSERT INTO deliveries (task_id, account_id, kind, url, status, attempts, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, $5, 0, $6, $6)

-- name: set_postback_states
UPDATE tasks SET postback_state = $1 WHERE id IN (SELECT value FROM json_each($2))

-- name: claim_deliveries
UPDATE deliveries SET lease_owner = $1, lease_until = $2 WHERE id IN (
    SELECT id FROM deliveries WHERE status = $3 AND next_attempt_at <= $4
        AND (lease_until IS NULL OR lease_until < $4)
    ORDER BY next_attempt_at LIMIT $5
)
RETURNING id, task_id, account_id, kind, url, attempts, alert_id, format

-- name: delivery_to_record
SELECT task_id, kind FROM deliveries WHERE id = $1 AND status = $2 AND attempts = $3

-- name: insert_delivery_attempt
INSERT INTO delivery_attempts (delivery_id, attempt, at, url, http_status, error, latency_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7)

-- name: update_delivery
UPDATE deliveries SET status = $2, attempts = $3, next_attempt_at = $4, finished_at = $5,
    lease_owner = NULL, lease_until = NULL
WHERE id = $1

-- name: task_for_resend
SELECT status, postback_url, pingback_url FROM tasks WHERE id = $1 AND account_id = $2 AND endpoint = 'task_post'

-- name: delivery_counts
SELECT count(*), count(CASE WHEN status = $2 THEN 1 END) FROM deliveries WHERE task_id = $1

-- name: deliveries_page
-- one page of a task's deliveries with their attempts: no row when the task is not the account's, one
-- row with NULL delivery columns when it has none
WITH owned AS (SELECT id FROM tasks WHERE id = $1 AND account_id = $2),
page AS (
    SELECT d.id, d.task_id, d.kind, d.url, d.status, d.attempts, d.next_attempt_at, d.created_at, d.finished_at,
        d.alert_id, d.format
    FROM deliveries d JOIN owned ON d.task_id = owned.id ORDER BY d.id LIMIT $3 OFFSET $4
)
SELECT p.id, p.task_id, p.kind, p.url, p.status, p.attempts, p.next_attempt_at, p.created_at, p.finished_at,
       a.attempt, a.at, a.url, a.http_status, a.error, a.latency_ms, p.alert_id, p.format
FROM owned LEFT JOIN page p ON 1 = 1 LEFT JOIN delivery_attempts a ON a.delivery_id = p.id
ORDER BY p.id, a.attempt

-- name: set_secret_if_missing
UPDATE accounts SET webhook_secret = :secret WHERE id = :account_id AND webhook_secret IS NULL

-- name: rotate_secret
UPDATE accounts SET webhook_secret_previous = webhook_secret, webhook_secret = :secret,
    webhook_secret_rotated_at = :now
WHERE id = :account_id

-- name: secrets
SELECT webhook_secret, webhook_secret_previous, webhook_secret_rotated_at FROM accounts WHERE id = :account_id

-- name: count_deliveries
SELECT COUNT(*) FROM deliveries

-- name: count_deliveries_with_status
SELECT COUNT(*) FROM deliveries WHERE status = $1

-- name: finished_tasks_page
-- an account's finished tasks in the order they finished, a page after (finished_at, id) (keyset: the
-- tasks_ready index (account_id, finished_at) walks it); optional engine and tag
SELECT id, account_id, se, endpoint, status, status_code, status_message, data_json, result_json, tag,
    cost, created_at, finished_at, collected_at
FROM tasks
WHERE account_id = :account_id AND finished_at IS NOT NULL AND status <> 'purged'
    AND (finished_at > :after_finished OR (finished_at = :after_finished AND id > :after_id))
    AND (CAST(:se AS TEXT) IS NULL OR se = :se)
    AND (CAST(:tag AS TEXT) IS NULL OR tag = :tag)
ORDER BY finished_at, id
LIMIT :limit

-- name: latest_tasks_page
-- the dashboard's list: an account's finished tasks newest first, a page before (finished_at, id), with
-- optional engine, tag and outcome ('done': answered, 'failed': not) applied before the page is cut
SELECT id, account_id, se, endpoint, status, status_code, status_message, data_json, result_json, tag,
    cost, created_at, finished_at, collected_at
FROM tasks
WHERE account_id = :account_id AND finished_at IS NOT NULL AND status <> 'purged'
    AND (finished_at < :before_finished OR (finished_at = :before_finished AND id < :before_id))
    AND (CAST(:se AS TEXT) IS NULL OR se = :se)
    AND (CAST(:tag AS TEXT) IS NULL OR tag = :tag)
    AND (CAST(:outcome AS TEXT) IS NULL OR (:outcome = 'done' AND status_code = 20000)
        OR (:outcome = 'failed' AND (status_code IS NULL OR status_code <> 20000)))
ORDER BY finished_at DESC, id DESC
LIMIT :limit

-- the mentions index (store/mentions.py writes it, store/mention_queries.py composes what reads it) --------

-- name: delete_mention_answers
DELETE FROM mention_answers WHERE task_id IN (SELECT value FROM json_each($1))

-- name: insert_mention_answers
-- a batch of answers as one JSON array of rows [task_id, platform, model_name, location_code, language_code,
-- web_search, question, cited_domains, result_domains, brand_names, brand_categories, prompt_hash]; account,
-- tag, posting day, project and run come from the task itself; a task indexed already is left as it is
INSERT INTO mention_answers (task_id, account_id, platform, model_name, location_code, language_code, tag, day,
    asked_at, web_search, question, cited_domains, result_domains, brand_names, brand_categories, prompt_hash,
    project_id, run_id)
SELECT t.id, t.account_id, v.value ->> 1, v.value ->> 2, v.value ->> 3, v.value ->> 4, t.tag,
    strftime('%Y-%m-%d', t.created_at, 'unixepoch'), t.created_at, v.value ->> 5, v.value ->> 6, v.value ->> 7,
    v.value ->> 8, v.value ->> 9, v.value ->> 10, v.value ->> 11, COALESCE(t.project_id, 0), t.run_id
FROM json_each($1) v JOIN tasks t ON t.id = v.value ->> 0
WHERE true
ON CONFLICT (task_id) DO NOTHING
RETURNING id, task_id, account_id

-- name: insert_mention_texts_bulk
INSERT INTO mention_texts (id, question, answer, fan_out, brands) VALUES ($1, $2, $3, $4, $5)

-- name: insert_mention_links_bulk
INSERT INTO mention_links (answer_id, account_id, scope, host_rev, domain, url, title, rank)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)

-- name: insert_mention_brands_bulk
INSERT INTO mention_brands (answer_id, account_id, brand, category, competitor, position, mentioned, cited, negated,
    first_offset)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)

-- name: count_mention_answers
SELECT COUNT(*) FROM mention_answers WHERE account_id = $1

-- name: spend_by_day
-- an account's tasks posted since $2, per UTC day and engine: how many, how many answered, what they cost
SELECT strftime('%Y-%m-%d', created_at, 'unixepoch') AS day, se, count(*), count(CASE WHEN status = 'done' THEN 1 END),
    sum(cost), sum(batch_saved)
FROM tasks WHERE account_id = $1 AND created_at >= $2
GROUP BY day, se ORDER BY day DESC, se

-- name: mention_locations
-- what the account's mentions index holds, per location, language and engine (locations_and_languages)
SELECT location_code, language_code, platform, count(*) FROM mention_answers WHERE account_id = $1
GROUP BY location_code, language_code, platform ORDER BY location_code, language_code, platform

-- vendor batches (batching/): gathering, submitting, polling, settling ------------------------------------

-- name: batch_candidates
-- queued tasks of the batch lane, oldest first (the constants match the partial index tasks_batch_lane)
SELECT id, request_json, created_at FROM tasks WHERE lane = 'batch' AND status = 'queued'
ORDER BY created_at LIMIT $1

-- name: to_direct_lane
-- tasks that go the direct way after all (a vendor that takes no batch, a request it refuses in one)
UPDATE tasks SET lane = 'direct', run_after = $2 WHERE id IN (SELECT value FROM json_each($1))
    AND status = 'queued' AND lane = 'batch'

-- name: insert_batch
INSERT INTO batches (id, provider, grp, status, tasks, created_at, next_poll_at, lease_owner, lease_until)
VALUES ($1, $2, $3, 'submitting', $4, $5, $5, $6, $7)

-- name: mark_batched
-- the tasks still queued in the batch lane join the batch (another process may have taken some)
UPDATE tasks SET status = 'batched', batch_id = $1, attempts = attempts + 1
WHERE id IN (SELECT value FROM json_each($2)) AND status = 'queued' AND lane = 'batch'
RETURNING id

-- name: set_batch_size
UPDATE batches SET tasks = $2 WHERE id = $1

-- name: delete_batch
DELETE FROM batches WHERE id = $1

-- name: batch_submitted
UPDATE batches SET status = 'submitted', vendor_id = $2, input_file = $3, submitted_at = $4, next_poll_at = $5,
    lease_owner = NULL, lease_until = NULL
WHERE id = $1

-- name: claim_due_batches
-- batches due a poll (or a submission another process died in) that no live process holds
UPDATE batches SET lease_owner = $1, lease_until = $2 WHERE id IN (
    SELECT id FROM batches WHERE status IN ('submitting', 'submitted') AND next_poll_at <= $3
        AND (lease_until IS NULL OR lease_until < $3)
    ORDER BY next_poll_at LIMIT $4
)
RETURNING id, provider, grp, status, vendor_id, input_file, polls, created_at, tasks

-- name: reschedule_batch
UPDATE batches SET next_poll_at = $2, polls = polls + 1, lease_owner = NULL, lease_until = NULL,
    error = $3 WHERE id = $1

-- name: end_batch
UPDATE batches SET status = 'ended', ended_at = $2, error = $3, lease_owner = NULL, lease_until = NULL
WHERE id = $1

-- name: batch_requests
-- the requests of these tasks, still in batch $1
SELECT id, request_json, attempts FROM tasks
WHERE batch_id = $1 AND status = 'batched' AND id IN (SELECT value FROM json_each($2))

-- name: batch_leftovers
SELECT id FROM tasks WHERE batch_id = $1 AND status = 'batched'

-- name: batch_requests_all
SELECT id, request_json FROM tasks WHERE batch_id = $1 AND status = 'batched' ORDER BY id

-- name: requeue_from_batch
-- lines that did not run (expired, cancelled, refused): the direct way, now
UPDATE tasks SET status = 'queued', lane = 'direct', batch_id = NULL, run_after = $3
WHERE batch_id = $1 AND status = 'batched' AND id IN (SELECT value FROM json_each($2))

-- name: count_batches_with_status
SELECT COUNT(*) FROM batches WHERE status = $1
