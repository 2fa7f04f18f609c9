"""The test kit: an offline Discord and EggAPI, and ways to run the real bot against them.

It is shared by the test suite, the benchmark and (later) the local playground, so it is a
package of its own, installed with the bot, rather than a folder under ``tests/``:

* :mod:`testkit.fake_discord`: the fake Discord (REST, gateway, CDN, a simulated client) and
  ``run_bot`` / ``assert_clean``;
* :mod:`testkit.fake_eggapi`: the fake EggAPI;
* :mod:`testkit.world`: the standard guild, channels and members the tests talk in;
* :mod:`testkit.starter`: ``BotStarter``, the real bot in this process;
* :mod:`testkit.processes`: ``BotProcess``, the real bot as ``python -m bot``.
"""
