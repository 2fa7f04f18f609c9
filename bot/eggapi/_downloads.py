"""Downloads of EggAPI's output files: checked URLs, bounded redirects and bodies, types from the bytes.

Split from ``_client`` because a download is a different thing from an API call: no
Authorization header, no envelope, and the URL comes from an answer rather than from the bot.
``EggAPIClient.download_image`` checks the URL (``checked_target``) and retries the
``FileFetcher``'s tries like a GET; each try waits for its turn in the request budget and reports
the answer to it, as every request does.

Only ``http``/``https`` URLs without credentials are fetched, and bodies over ``max_bytes`` are
refused (``DownloadTooLarge``) while streaming. At most ``MAX_REDIRECTS`` redirects are followed,
each only to the same origin (scheme, host and port) or to an https URL on one of EggAPI's
documented file hosts (``FILE_HOSTS``); any other redirect is refused (``MalformedResponse``, not
retried), so a file URL cannot make the bot fetch, and post, an internal address. The type is
always sniffed from the bytes, whatever the ``Content-Type`` header says: only PNG, JPEG, WebP and
GIF are accepted (no SVG, no HTML), and the file name's extension is the sniffed type's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import aiohttp
from yarl import URL

from ._budget import Priority
from ._errors import DownloadTooLarge, MalformedResponse, TransportError
from ._http import ERROR_BODY_LIMIT, Answer, error_from, json_or_none, read_body, safe_filename, sniff_image_type
from ._models import DownloadedImage

__all__ = ["FILE_HOSTS", "MAX_REDIRECTS", "FileFetcher", "checked_target", "redirect_target"]

FILE_HOSTS = frozenset({"file.eggapi.ai", "cdn.eggapi.ai"})  # where EggAPI's docs put output files
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

Turn = Callable[[Priority], Awaitable[float | None]]
Report = Callable[[float | None, int, Mapping[str, str]], None]
Transport = Callable[[BaseException, str, str], TransportError]


def checked_target(url: str, max_bytes: int) -> tuple[URL, str]:
    """The URL to download and its label for errors and logs (no query, no fragment); ValueError if refused."""
    try:
        target = URL(url)
    except (ValueError, TypeError) as exc:
        raise ValueError("not a valid URL") from exc
    if target.scheme not in ("http", "https") or not target.host:
        raise ValueError("only absolute http(s) URLs can be downloaded")
    if target.user is not None or target.password is not None:
        raise ValueError("download URLs must not contain credentials")
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    return target, str(target.with_query(None).with_fragment(None))


def redirect_target(current: URL, location: str, label: str) -> URL:
    """Where a redirect may lead: the same origin, or https on a documented file host."""
    try:
        nxt = current.join(URL(location))
    except (ValueError, TypeError) as exc:
        raise MalformedResponse("redirect to an invalid URL", method="GET", path=label) from exc
    same_origin = (nxt.scheme, nxt.host, nxt.port) == (current.scheme, current.host, current.port)
    file_host = nxt.scheme == "https" and (nxt.host or "").lower() in FILE_HOSTS
    if nxt.user is not None or nxt.password is not None or not (same_origin or file_host):
        raise MalformedResponse(
            f"redirect to {nxt.scheme}://{nxt.host} refused (not the file host)", method="GET", path=label
        )
    return nxt


class FileFetcher:
    """One try at a file, redirects followed; the client's budget turns, reports and error texts."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        timeout: aiohttp.ClientTimeout,
        *,
        turn: Turn,
        report: Report,
        transport: Transport,
        redact: Callable[[str], str],
    ) -> None:
        self._session = session
        self._timeout = timeout
        self._turn = turn
        self._report = report
        self._transport = transport
        self._redact = redact

    async def once(self, target: URL, label: str, max_bytes: int) -> DownloadedImage:
        """Fetch ``target``, following at most ``MAX_REDIRECTS`` allowed redirects."""
        url = target
        for _ in range(MAX_REDIRECTS + 1):
            fetched = await self._fetch_file(url, target, label, max_bytes)
            if isinstance(fetched, DownloadedImage):
                return fetched
            url = redirect_target(url, fetched, label)
        raise MalformedResponse(f"more than {MAX_REDIRECTS} redirects", method="GET", path=label)

    async def _fetch_file(self, url: URL, target: URL, label: str, max_bytes: int) -> DownloadedImage | str:
        """One GET of a file, in its turn: the image (named after ``target``), or the ``Location`` of a redirect."""
        sent_at = await self._turn(Priority.DOWNLOAD)
        try:
            async with self._session.get(
                url, timeout=self._timeout, allow_redirects=False, raise_for_status=False
            ) as resp:
                self._report(sent_at, resp.status, resp.headers)
                if resp.status in _REDIRECTS and resp.headers.get("Location"):
                    return resp.headers["Location"]
                if not 200 <= resp.status < 300:
                    body = await read_body(resp, ERROR_BODY_LIMIT, strict=False) or b""
                    answer = Answer(resp.status, resp.headers, body)
                    raise error_from(answer, json_or_none(body), "GET", label, self._redact)
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise DownloadTooLarge(
                        f"Content-Length {resp.content_length} > {max_bytes}",
                        status=resp.status,
                        method="GET",
                        path=label,
                    )
                data = await read_body(resp, max_bytes, strict=True)
                if data is None:
                    raise DownloadTooLarge(
                        f"body exceeds {max_bytes} bytes", status=resp.status, method="GET", path=label
                    )
                header_type = resp.content_type.lower()
                status = resp.status
        except aiohttp.ClientError as exc:
            raise self._transport(exc, "GET", label) from exc
        except TimeoutError as exc:
            raise self._transport(exc, "GET", label) from exc
        if not data:
            raise MalformedResponse("empty file", status=status, method="GET", path=label)
        content_type = sniff_image_type(data)  # the bytes decide, never the header
        if content_type is None:
            raise MalformedResponse(
                f"file is not a PNG, JPEG, WebP or GIF image (sent as {header_type})",
                status=status,
                method="GET",
                path=label,
            )
        return DownloadedImage(data=data, content_type=content_type, filename=safe_filename(target, content_type))
