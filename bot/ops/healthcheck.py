"""``python -m bot.ops.healthcheck [URL]``: the container's HEALTHCHECK, exit status 0 when the bot is healthy.

Slim images have no curl, so this is the standard library only, and it imports nothing else of
the bot, so a probe starts in a few tens of milliseconds. It asks ``GET /healthz`` on
``127.0.0.1:EGGBOT_WEBHOOK_PORT`` (8080 by default; the image turns ``EGGBOT_HEALTHZ`` on) or the
URL given, ignoring any proxy settings: healthy only on a 200 within ``TIMEOUT`` seconds.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

TIMEOUT = 4.0  # below the Dockerfile's --timeout=5s, so the probe says why rather than being killed
DEFAULT_PORT = "8080"


def probe_url(env: Mapping[str, str]) -> str:
    """Where the bot serves /healthz in its own container."""
    port = (env.get("EGGBOT_WEBHOOK_PORT") or DEFAULT_PORT).strip()
    return f"http://127.0.0.1:{port}/healthz"


def check(url: str) -> tuple[bool, str]:
    """(healthy, what was found) for one probe of ``url``."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through HTTP(S)_PROXY
    try:
        with opener.open(url, timeout=TIMEOUT) as response:
            return response.status == 200, f"{url}: {response.status}"
    except urllib.error.HTTPError as exc:  # 503 {"status": "degraded"}: the log says which part
        return False, f"{url}: {exc.code} (the bot's log says which part is failing)"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"{url}: no answer ({reason}); is the bot running with EGGBOT_HEALTHZ=true?"


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Probe once; print one line; 0 when healthy, 1 otherwise."""
    args = list(sys.argv[1:] if argv is None else argv)
    url = args[0] if args else probe_url(os.environ if env is None else env)
    healthy, found = check(url)
    print(("healthy: " if healthy else "unhealthy: ") + found, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
