-- Which of a task's outputs are already posted, and in which message: a result split over several
-- messages is recorded part by part, so a retry or a restart posts only the parts still missing.
CREATE TABLE posted_images (
    task_id     BIGINT  NOT NULL REFERENCES tasks (id),
    image_index INTEGER NOT NULL,
    message_id  BIGINT  NOT NULL,
    PRIMARY KEY (task_id, image_index)
);
-- Why a result went to the other place (the member's DMs instead of a lost channel, or the channel
-- instead of closed DMs); NULL while it goes where it was meant to.
ALTER TABLE tasks ADD COLUMN rerouted TEXT;
