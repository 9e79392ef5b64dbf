"""The few calls this app makes to FreeClimb's REST API (HTTP Basic auth: accountId, apiKey)."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from urllib.parse import quote


class FreeClimbError(Exception):
    """FreeClimb's API did not do what was asked; the message says why (never the key)."""


class FreeClimbApi:
    def __init__(self, base_url: str, account_id: str, api_key: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        token = base64.b64encode(f"{account_id}:{api_key}".encode()).decode()
        self._auth = f"Basic {token}"
        self.timeout_s = timeout_s

    def _recording_url(self, recording_id: str, suffix: str = "") -> str:
        return (f"{self.base_url}/Accounts/{quote(self.account_id, safe='')}/Recordings/"
                f"{quote(recording_id, safe='')}{suffix}")

    def download_request(self, recording_id: str) -> urllib.request.Request:
        """The request that fetches a recording's audio."""
        return urllib.request.Request(self._recording_url(recording_id, "/Download"),
                                      headers={"Authorization": self._auth})

    def delete_recording(self, recording_id: str) -> bool:
        """Delete FreeClimb's copy; True when deleted now, False when it was gone already."""
        request = urllib.request.Request(self._recording_url(recording_id), method="DELETE",
                                         headers={"Authorization": self._auth})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return 200 <= response.status < 300
        except urllib.error.HTTPError as exc:
            exc.close()  # its connection is ours to release
            if exc.code == 404:
                return False
            raise FreeClimbError(f"FreeClimb answered HTTP {exc.code} to the delete") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise FreeClimbError(f"FreeClimb could not be reached: {getattr(exc, 'reason', exc)}") from None
