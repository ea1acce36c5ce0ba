-- PostgreSQL's versions of common.sql statements: real arrays instead of JSON ones, row locks where many
-- processes race for the same rows, and whole batches in one statement (unnest, COPY).

-- name: balance_for_update
-- NO KEY UPDATE is what a balance change needs and never conflicts with the KEY SHARE locks foreign keys take
SELECT balance FROM accounts WHERE id = :account_id FOR NO KEY UPDATE

-- name: lock_accounts
-- ascending id order: two settlements may wait for each other but never deadlock
SELECT id FROM accounts WHERE id = ANY(:ids::int[]) ORDER BY id FOR NO KEY UPDATE

-- name: add_to_balances_bulk
UPDATE accounts AS a SET balance = a.balance + v.amount
FROM unnest(:account_id::int[], :amount::bigint[]) AS v(id, amount) WHERE a.id = v.id

-- name: insert_ledger_bulk
-- one statement, one round trip (COPY takes two, which a lone live settlement would wait for)
INSERT INTO ledger (account_id, task_id, kind, amount, created_at)
SELECT * FROM unnest(:account_id::int[], :task_id::text[], :kind::text[], :amount::bigint[], :created_at::float8[])

-- name: copy_ledger_bulk
-- a task_post batch's up to 200 charges: COPY's binary rows beat unnest's arrays by ~0.25 ms per batch
COPY ledger (account_id, task_id, kind, amount, created_at) FROM STDIN

-- name: delete_ledger_of_tasks
DELETE FROM ledger WHERE task_id = ANY(:task_ids::text[])

-- name: insert_tasks_bulk
COPY tasks (id, account_id, se, endpoint, status, request_json, data_json, tag, postback_url,
    pingback_url, base_price, prepayment, cost, attempts, lease_owner, lease_until, run_after, created_at, lane,
    project_id, run_id, prompt_key)
FROM STDIN

-- name: delete_tasks
DELETE FROM tasks WHERE id = ANY(:ids::text[])

-- name: claim_fair
-- as in common.sql, each account's due rows locked and skipped past other claimers' locks
WITH picked AS (
    SELECT t.id, t.account_id, t.run_after, a.ord
    FROM unnest(:accounts::int[]) WITH ORDINALITY AS a(id, ord)
    JOIN accounts acc ON acc.id = a.id AND acc.balance >= 0
    CROSS JOIN LATERAL (
        SELECT id, account_id, run_after FROM tasks
        WHERE status = :queued AND account_id = a.id AND run_after <= :now
        ORDER BY run_after LIMIT :limit FOR UPDATE SKIP LOCKED
    ) t
), ranked AS (
    SELECT id, ord, row_number() OVER (PARTITION BY account_id ORDER BY run_after) AS rn FROM picked
)
UPDATE tasks SET status = :running, lease_owner = :owner, lease_until = :lease_until, attempts = attempts + 1
WHERE id IN (SELECT id FROM ranked ORDER BY rn, ord LIMIT :limit)
RETURNING id, account_id, se, endpoint, request_json, attempts

-- name: extend_leases
UPDATE tasks SET lease_until = $1 WHERE id = ANY($2::text[]) AND lease_owner = $3 AND status = $4

-- name: tasks_to_settle
SELECT id, account_id, base_price, prepayment, endpoint, postback_url, pingback_url, status, attempts
FROM tasks WHERE id = ANY(:ids::text[]) ORDER BY id FOR UPDATE

-- name: settle_tasks_bulk
UPDATE tasks AS t SET status = v.status, status_code = v.status_code, status_message = v.status_message,
    result_json = v.result_json, money_spent = v.money_spent, cost = v.cost, input_tokens = v.input_tokens,
    output_tokens = v.output_tokens, reasoning_tokens = v.reasoning_tokens,
    web_search_calls = v.web_search_calls, error_detail = v.error_detail, finished_at = v.finished_at,
    batch_saved = v.batch_saved, lease_owner = NULL, lease_until = NULL
FROM unnest(:id::text[], :status::text[], :status_code::int[], :status_message::text[], :result_json::text[],
    :money_spent::bigint[], :cost::bigint[], :input_tokens::int[], :output_tokens::int[], :reasoning_tokens::int[],
    :web_search_calls::int[], :error_detail::text[], :finished_at::float8[], :batch_saved::bigint[])
    AS v(id, status, status_code, status_message, result_json, money_spent, cost, input_tokens, output_tokens,
        reasoning_tokens, web_search_calls, error_detail, finished_at, batch_saved)
WHERE t.id = v.id

-- name: insert_deliveries_bulk
INSERT INTO deliveries (task_id, account_id, kind, url, status, attempts, next_attempt_at, created_at)
SELECT task_id, account_id, kind, url, status, 0, at, at
FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::float8[])
    AS v(task_id, account_id, kind, url, status, at)

-- name: set_postback_states
UPDATE tasks SET postback_state = $1 WHERE id = ANY($2::text[])

-- name: claim_deliveries
-- any number of dispatchers: each skips the rows another is claiming
UPDATE deliveries SET lease_owner = $1, lease_until = $2 WHERE id IN (
    SELECT id FROM deliveries WHERE status = $3 AND next_attempt_at <= $4
        AND (lease_until IS NULL OR lease_until < $4)
    ORDER BY next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED
)
RETURNING id, task_id, account_id, kind, url, attempts, alert_id, format

-- name: delivery_to_record
SELECT task_id, kind FROM deliveries WHERE id = $1 AND status = $2 AND attempts = $3 FOR UPDATE

-- name: delete_mention_answers
DELETE FROM mention_answers WHERE task_id = ANY($1::text[])

-- name: insert_mention_answers
INSERT INTO mention_answers (task_id, account_id, platform, model_name, location_code, language_code, tag, day,
    asked_at, web_search, question, cited_domains, result_domains, brand_names, brand_categories, prompt_hash,
    project_id, run_id)
SELECT t.id, t.account_id, v ->> 1, v ->> 2, (v ->> 3)::int, v ->> 4, t.tag,
    to_char(to_timestamp(t.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), t.created_at, (v ->> 5)::boolean,
    v ->> 6, v ->> 7, v ->> 8, v ->> 9, v ->> 10, v ->> 11, COALESCE(t.project_id, 0), t.run_id
FROM json_array_elements($1::json) v JOIN tasks t ON t.id = v ->> 0
ON CONFLICT (task_id) DO NOTHING
RETURNING id, task_id, account_id

-- name: insert_mention_texts_bulk
INSERT INTO mention_texts (id, question, answer, fan_out, brands)
SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[])

-- name: insert_mention_links_bulk
INSERT INTO mention_links (answer_id, account_id, scope, host_rev, domain, url, title, rank)
SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[])

-- name: insert_mention_brands_bulk
INSERT INTO mention_brands (answer_id, account_id, brand, category, competitor, position, mentioned, cited, negated,
    first_offset)
SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::bool[], $6::int[], $7::bool[], $8::bool[],
    $9::bool[], $10::int[])

-- name: spend_by_day
SELECT to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, se, count(*),
    count(CASE WHEN status = 'done' THEN 1 END), sum(cost), sum(batch_saved)
FROM tasks WHERE account_id = $1 AND created_at >= $2
GROUP BY day, se ORDER BY day DESC, se

-- name: to_direct_lane
UPDATE tasks SET lane = 'direct', run_after = $2 WHERE id = ANY($1::text[]) AND status = 'queued' AND lane = 'batch'

-- name: mark_batched
-- rows another process is marking are skipped, not waited for
UPDATE tasks SET status = 'batched', batch_id = $1, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM tasks WHERE id = ANY($2::text[]) AND status = 'queued' AND lane = 'batch'
    FOR UPDATE SKIP LOCKED
)
RETURNING id

-- name: claim_due_batches
UPDATE batches SET lease_owner = $1, lease_until = $2 WHERE id IN (
    SELECT id FROM batches WHERE status IN ('submitting', 'submitted') AND next_poll_at <= $3
        AND (lease_until IS NULL OR lease_until < $3)
    ORDER BY next_poll_at LIMIT $4 FOR UPDATE SKIP LOCKED
)
RETURNING id, provider, grp, status, vendor_id, input_file, polls, created_at, tasks

-- name: batch_requests
SELECT id, request_json, attempts FROM tasks
WHERE batch_id = $1 AND status = 'batched' AND id = ANY($2::text[])

-- name: requeue_from_batch
UPDATE tasks SET status = 'queued', lane = 'direct', batch_id = NULL, run_after = $3
WHERE batch_id = $1 AND status = 'batched' AND id = ANY($2::text[])

-- name: claim_idle
-- as in common.sql, skipping rows another worker is claiming
UPDATE tasks SET status = :running, lease_owner = :owner, lease_until = :lease_until, attempts = attempts + 1
WHERE id IN (
    SELECT t.id FROM tasks t JOIN accounts a ON a.id = t.account_id AND a.balance >= 0
    WHERE t.lane = 'idle' AND t.status = :queued ORDER BY t.created_at LIMIT :limit FOR UPDATE OF t SKIP LOCKED
)
RETURNING id, account_id, se, endpoint, request_json, attempts
