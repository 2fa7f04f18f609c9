-- The nonce a task's result was (or is being) posted with; tasks merged into one message share it.
ALTER TABLE tasks ADD COLUMN delivery_nonce TEXT;
CREATE INDEX tasks_by_delivery_nonce ON tasks (delivery_nonce) WHERE delivery_nonce IS NOT NULL;
