-- Per-server settings that are not money (bot/guilds): one JSON value per (guild, key), and per-member
-- preferences per (guild, member, key). guild_id 0 stands for direct messages. Unset = the default.
CREATE TABLE guild_settings (
    guild_id   BIGINT      NOT NULL,
    key        TEXT        NOT NULL,
    value      JSONB       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (guild_id, key)
);

CREATE TABLE member_settings (
    guild_id   BIGINT      NOT NULL,
    member_id  BIGINT      NOT NULL,
    key        TEXT        NOT NULL,
    value      JSONB       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (guild_id, member_id, key)
);
