-- PostgreSQL's texts of brand_metrics.sql's statements: typed parameters (a NULL must know its type) and
-- arrays in place of JSON lists. Group by ordinal as there.

-- name: brand_rollup_counts
SELECT CASE WHEN $3::boolean THEN platform ELSE '' END, CASE WHEN $4::boolean THEN model_name ELSE '' END,
    CASE WHEN $5::boolean THEN location_code ELSE 0 END, CASE WHEN $6::boolean THEN day ELSE '' END, '', '',
    brand, MAX(CASE WHEN competitor THEN 1 ELSE 0 END), SUM(answers), SUM(with_citations), SUM(mentions),
    SUM(citations), SUM(positions), SUM(position_sum), SUM(negated)
FROM mention_rollups
WHERE account_id = $1 AND project_id = $2 AND ($7::text IS NULL OR platform = $7::text)
    AND ($8::text IS NULL OR model_name = $8::text) AND ($9::integer IS NULL OR location_code = $9::integer)
    AND ($10::text IS NULL OR day >= $10::text) AND ($11::text IS NULL OR day <= $11::text)
GROUP BY 1, 2, 3, 4, 7

-- name: brand_prompt_rollup_counts
SELECT r.e, r.m, r.l, r.d, COALESCE(p.question, ''), '', r.brand, r.c, r.a, r.w, r.mn, r.ci, r.ps, r.pss, r.ng
FROM (
    SELECT CASE WHEN $3::boolean THEN platform ELSE '' END AS e,
        CASE WHEN $4::boolean THEN model_name ELSE '' END AS m,
        CASE WHEN $5::boolean THEN location_code ELSE 0 END AS l, CASE WHEN $6::boolean THEN day ELSE '' END AS d,
        CASE WHEN $12::boolean THEN prompt_hash ELSE '' END AS h, brand,
        MAX(CASE WHEN competitor THEN 1 ELSE 0 END) AS c, SUM(answers) AS a, SUM(with_citations) AS w,
        SUM(mentions) AS mn, SUM(citations) AS ci, SUM(positions) AS ps, SUM(position_sum) AS pss,
        SUM(negated) AS ng
    FROM mention_prompt_rollups
    WHERE account_id = $1 AND project_id = $2 AND ($7::text IS NULL OR platform = $7::text)
        AND ($8::text IS NULL OR model_name = $8::text) AND ($9::integer IS NULL OR location_code = $9::integer)
        AND ($10::text IS NULL OR day >= $10::text) AND ($11::text IS NULL OR day <= $11::text)
        AND ($13::text[] IS NULL OR prompt_hash = ANY($13::text[]))
    GROUP BY 1, 2, 3, 4, 5, 6
) r LEFT JOIN mention_prompts p ON p.account_id = $1 AND p.project_id = $2 AND p.prompt_hash = r.h

-- name: brand_answer_counts
WITH a AS (
    SELECT id, CASE WHEN $3::boolean THEN platform ELSE '' END AS e,
        CASE WHEN $4::boolean THEN model_name ELSE '' END AS m,
        CASE WHEN $5::boolean THEN COALESCE(location_code, 0) ELSE 0 END AS l,
        CASE WHEN $6::boolean THEN day ELSE '' END AS d, CASE WHEN $7::boolean THEN question ELSE '' END AS q,
        CASE WHEN $8::boolean THEN COALESCE(tag, '') ELSE '' END AS t,
        CASE WHEN cited_domains <> '[]' THEN 1 ELSE 0 END AS cited_any
    FROM mention_answers
    WHERE account_id = $1 AND project_id = $2 AND ($9::integer IS NULL OR run_id = $9::integer)
        AND ($10::text IS NULL OR platform = $10::text) AND ($11::text IS NULL OR model_name = $11::text)
        AND ($12::integer IS NULL OR COALESCE(location_code, 0) = $12::integer)
        AND ($13::text IS NULL OR day >= $13::text) AND ($14::text IS NULL OR day <= $14::text)
        AND ($15::text IS NULL OR COALESCE(tag, '') = $15::text)
        AND ($16::text[] IS NULL OR question = ANY($16::text[]))
)
SELECT e, m, l, d, q, t, '', 0, COUNT(*), SUM(cited_any), 0, 0, 0, 0, 0 FROM a GROUP BY e, m, l, d, q, t
UNION ALL
SELECT a.e, a.m, a.l, a.d, a.q, a.t, b.brand, MAX(CASE WHEN b.competitor THEN 1 ELSE 0 END), 0, 0,
    SUM(CASE WHEN b.mentioned THEN 1 ELSE 0 END), SUM(CASE WHEN b.cited THEN 1 ELSE 0 END), COUNT(b.position),
    COALESCE(SUM(b.position), 0), SUM(CASE WHEN b.negated THEN 1 ELSE 0 END)
FROM a JOIN mention_brands b ON b.answer_id = a.id
GROUP BY a.e, a.m, a.l, a.d, a.q, a.t, b.brand
