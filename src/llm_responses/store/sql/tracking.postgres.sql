-- PostgreSQL's versions of tracking.sql's statements that differ (arrays for lists).

-- name: project_specs
SELECT id, spec, version FROM projects WHERE id = ANY($1::int[])
