-- Where a job came from, and the language its member reads.
-- origin_task_id/origin_kind: the job a reroll, variation, edit, remix or upscale was made from
-- (NULL for a plain /imagine); origin_image: which of that job's images (1-based), when one was picked.
-- locale: the member's Discord locale when they asked. NULL = the default language.
ALTER TABLE tasks ADD COLUMN origin_task_id BIGINT;
ALTER TABLE tasks ADD COLUMN origin_kind TEXT;
ALTER TABLE tasks ADD COLUMN origin_image INTEGER;
ALTER TABLE tasks ADD COLUMN locale TEXT;
CREATE INDEX tasks_by_origin ON tasks (origin_task_id) WHERE origin_task_id IS NOT NULL;
