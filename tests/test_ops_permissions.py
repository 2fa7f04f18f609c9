"""Discord's channel permission algorithm as doctor computes it, against the fake Discord's (which the tests trust)."""

from __future__ import annotations

from bot.ops.permissions import BITS, IMAGINE_PERMISSIONS, channel_permissions, missing
from testkit.fake_discord import FakeDiscord
from testkit.fake_discord.models import base_permissions
from testkit.fake_discord.models import channel_permissions as discords


async def test_overwrites_roles_admin_and_implications_agree_with_discord() -> None:
    async with FakeDiscord() as fake:
        guild = fake.add_guild("Eggs")
        artists = fake.add_role(guild, "artists")
        admins = fake.add_role(guild, "admins", permissions="ADMINISTRATOR")
        bot = guild.member(fake.bot_user)
        assert bot is not None
        channels = [fake.add_channel(guild, name) for name in ("open", "everyone-denied", "role-allowed", "no-send")]
        fake.set_permissions(channels[1], "everyone", deny="ATTACH_FILES")
        fake.set_permissions(channels[2], "everyone", deny="VIEW_CHANNEL")
        fake.set_permissions(channels[2], artists, allow="VIEW_CHANNEL")
        fake.set_permissions(channels[3], fake.bot_user, deny="SEND_MESSAGES")
        for roles in ([], [artists], [artists, admins]):
            bot.roles = [r for r in bot.roles if r not in (artists, admins)] + roles
            for channel in channels:
                ours = channel_permissions(
                    base_permissions(bot),
                    guild_id=guild.id,
                    user_id=bot.id,
                    role_ids=[r.id for r in bot.roles],
                    overwrites=[o.to_json() for o in channel.overwrites.values()],
                )
                expected = discords(bot, channel)
                mask = IMAGINE_PERMISSIONS | BITS["Embed Links"]  # what doctor looks at
                assert ours & mask == expected & mask, (channel.name, [r.name for r in roles])


def test_missing_names_what_is_lacking_in_order() -> None:
    perms = BITS["View Channel"] | BITS["Send Messages"]
    assert missing(perms, ["View Channel", "Attach Files", "Read Message History"]) == [
        "Attach Files",
        "Read Message History",
    ]
