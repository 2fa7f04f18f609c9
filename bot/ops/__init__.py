"""The operator's tools beside the bot: ``python -m bot doctor`` and ``backup``, and the container's health check.

- ``doctor``: every check's verdict and what to do, and the exit status; the checks themselves are in
  ``checks`` (settings, database, webhooks, the EggAPI key) and ``servers`` (the Discord token, the
  invite link and, in each server, the channels ``/imagine`` needs), over ``discord_rest``.
- ``permissions``: the permissions ``/imagine`` needs and Discord's channel permission algorithm.
- ``backup``: SQLite's online backup of the database, while the bot runs.
- ``healthcheck``: ``python -m bot.ops.healthcheck``, the Dockerfile's HEALTHCHECK.

None of them imports discord or opens the gateway.
"""
