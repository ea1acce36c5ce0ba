-- Brand metrics (store/brand_counts.py, analysis/brand_metrics.py): the counts the formulas are made of, read
-- from the rollups the indexer keeps (mention_rollups, mention_prompt_rollups) or, for what they cannot
-- answer (one run's answers, a task tag), from the indexed answers themselves. Every statement groups by
-- flags: $3..$8 say whether engine, model, country, day, prompt, tag are group keys; a key that is not is
-- one constant value, so one statement serves every combination of groups with every value a parameter.
-- Rows: engine, model, location_code, day, prompt, tag, brand ('' : the group's own row), competitor,
-- answers, with_citations, mentions, citations, positions, position_sum, negated.

-- name: brand_rollup_counts
-- $1 account, $2 project, $3-$6 group flags (engine, model, country, day), $7 engine, $8 model,
-- $9 location_code (0: none), $10 first day, $11 last day (YYYY-MM-DD, inclusive); NULL: no filter
SELECT CASE WHEN $3 THEN platform ELSE '' END, CASE WHEN $4 THEN model_name ELSE '' END,
    CASE WHEN $5 THEN location_code ELSE 0 END, CASE WHEN $6 THEN day ELSE '' END, '', '',
    brand, MAX(CASE WHEN competitor THEN 1 ELSE 0 END), SUM(answers), SUM(with_citations), SUM(mentions),
    SUM(citations), SUM(positions), SUM(position_sum), SUM(negated)
FROM mention_rollups
WHERE account_id = $1 AND project_id = $2 AND ($7 IS NULL OR platform = $7) AND ($8 IS NULL OR model_name = $8)
    AND ($9 IS NULL OR location_code = $9) AND ($10 IS NULL OR day >= $10) AND ($11 IS NULL OR day <= $11)
GROUP BY 1, 2, 3, 4, 7

-- name: brand_prompt_rollup_counts
-- as brand_rollup_counts, grouped by prompt as well when $12; $13: only these prompt hashes (JSON array)
SELECT r.e, r.m, r.l, r.d, COALESCE(p.question, ''), '', r.brand, r.c, r.a, r.w, r.mn, r.ci, r.ps, r.pss, r.ng
FROM (
    SELECT CASE WHEN $3 THEN platform ELSE '' END AS e, CASE WHEN $4 THEN model_name ELSE '' END AS m,
        CASE WHEN $5 THEN location_code ELSE 0 END AS l, CASE WHEN $6 THEN day ELSE '' END AS d,
        CASE WHEN $12 THEN prompt_hash ELSE '' END AS h, brand,
        MAX(CASE WHEN competitor THEN 1 ELSE 0 END) AS c, SUM(answers) AS a, SUM(with_citations) AS w,
        SUM(mentions) AS mn, SUM(citations) AS ci, SUM(positions) AS ps, SUM(position_sum) AS pss,
        SUM(negated) AS ng
    FROM mention_prompt_rollups
    WHERE account_id = $1 AND project_id = $2 AND ($7 IS NULL OR platform = $7)
        AND ($8 IS NULL OR model_name = $8) AND ($9 IS NULL OR location_code = $9)
        AND ($10 IS NULL OR day >= $10) AND ($11 IS NULL OR day <= $11)
        AND ($13 IS NULL OR prompt_hash IN (SELECT value FROM json_each($13)))
    GROUP BY 1, 2, 3, 4, 5, 6
) r LEFT JOIN mention_prompts p ON p.account_id = $1 AND p.project_id = $2 AND p.prompt_hash = r.h

-- name: brand_answer_counts
-- the same counts from the answers (a run's, or grouped or filtered by task tag: what no rollup keeps);
-- $1 account, $2 project, $3-$8 group flags (engine, model, country, day, prompt, tag), $9 run (NULL: any),
-- $10 engine, $11 model, $12 location_code (0: none), $13 first day, $14 last day, $15 tag, $16 only these
-- questions (JSON array)
WITH a AS (
    SELECT id, CASE WHEN $3 THEN platform ELSE '' END AS e, CASE WHEN $4 THEN model_name ELSE '' END AS m,
        CASE WHEN $5 THEN COALESCE(location_code, 0) ELSE 0 END AS l, CASE WHEN $6 THEN day ELSE '' END AS d,
        CASE WHEN $7 THEN question ELSE '' END AS q, CASE WHEN $8 THEN COALESCE(tag, '') ELSE '' END AS t,
        CASE WHEN cited_domains <> '[]' THEN 1 ELSE 0 END AS cited_any
    FROM mention_answers
    WHERE account_id = $1 AND project_id = $2 AND ($9 IS NULL OR run_id = $9)
        AND ($10 IS NULL OR platform = $10) AND ($11 IS NULL OR model_name = $11)
        AND ($12 IS NULL OR COALESCE(location_code, 0) = $12) AND ($13 IS NULL OR day >= $13)
        AND ($14 IS NULL OR day <= $14) AND ($15 IS NULL OR COALESCE(tag, '') = $15)
        AND ($16 IS NULL OR question IN (SELECT value FROM json_each($16)))
)
SELECT e, m, l, d, q, t, '', 0, COUNT(*), SUM(cited_any), 0, 0, 0, 0, 0 FROM a GROUP BY e, m, l, d, q, t
UNION ALL
SELECT a.e, a.m, a.l, a.d, a.q, a.t, b.brand, MAX(CASE WHEN b.competitor THEN 1 ELSE 0 END), 0, 0,
    SUM(CASE WHEN b.mentioned THEN 1 ELSE 0 END), SUM(CASE WHEN b.cited THEN 1 ELSE 0 END), COUNT(b.position),
    COALESCE(SUM(b.position), 0), SUM(CASE WHEN b.negated THEN 1 ELSE 0 END)
FROM a JOIN mention_brands b ON b.answer_id = a.id
GROUP BY a.e, a.m, a.l, a.d, a.q, a.t, b.brand
