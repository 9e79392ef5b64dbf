"""Settings read from the environment, checked once at start.

A bad value stops the app with a message naming the variable and the value (secrets are never
shown), rather than failing on the first phone call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from percl import KEYS, LANGUAGES
from percl.attributes import Invalid, Url


class ConfigError(Exception):
    """A setting the app cannot start with."""


@dataclass(frozen=True)
class VoicemailSettings:
    greeting: str = "Please leave a message after the beep. Press the pound key when you are done."
    thanks: str = "Thank you, your message has been recorded. Goodbye."
    language: str | None = None
    max_length_sec: int = 120
    finish_on_key: str = "#"
    play_beep: bool = True


@dataclass(frozen=True)
class Settings:
    signing_secrets: tuple[str, ...]
    signature_tolerance_s: int
    public_base_url: str | None
    data_dir: str
    voicemail: VoicemailSettings
    flows_path: str | None = None
    trusted_proxies: int = 0  # proxies in front of the app whose X-Forwarded-* headers count
    api_token: str | None = None  # the REST API's bearer token; None: the API is disabled
    freeclimb_account_id: str | None = None
    freeclimb_api_key: str | None = None
    freeclimb_api_url: str = "https://www.freeclimb.com/apiserver"
    mirror_audio: bool = True  # fetch our own copy of every recording in the background
    retention_days: int | None = None  # None: keep recordings forever

    @property
    def freeclimb_credentials(self) -> tuple[str, str] | None:
        if self.freeclimb_account_id and self.freeclimb_api_key:
            return self.freeclimb_account_id, self.freeclimb_api_key
        return None

    @property
    def verifies_signatures(self) -> bool:
        return bool(self.signing_secrets)


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) < minimum:  # ASCII: isdigit takes "²"
        raise ConfigError(f"{name} must be a whole number of at least {minimum}, got {raw!r}")
    return int(raw)


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _base_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("PUBLIC_BASE_URL", "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    try:
        Url().check(raw)  # the rule every URL the app puts in PerCL must pass
        usable = not (parts.query or parts.fragment)
    except Invalid:
        usable = False
    if not usable:
        raise ConfigError(f"PUBLIC_BASE_URL must be an absolute http(s) URL such as "
                          f"https://abc.ngrok.app, got {raw!r}")
    return raw.rstrip("/")


def load_settings(env: Mapping[str, str]) -> Settings:
    raw_secrets = env.get("FREECLIMB_SIGNING_SECRET", "")
    secrets = tuple(part.strip() for part in raw_secrets.split(",") if part.strip())
    if raw_secrets.strip() and not secrets:
        # set to something (",", " , ") that holds no secret: a typo, not a wish to run open
        raise ConfigError("FREECLIMB_SIGNING_SECRET is set but holds no secret; leave it unset to "
                          "run without verifying webhooks")
    language = env.get("VOICEMAIL_LANGUAGE", "").strip() or None
    if language is not None and language not in LANGUAGES:
        raise ConfigError(f"VOICEMAIL_LANGUAGE must be one of {', '.join(LANGUAGES)}, got {language!r}")
    finish_on_key = env.get("VOICEMAIL_FINISH_KEY", "#").strip() or "#"
    if finish_on_key not in KEYS:
        raise ConfigError(f"VOICEMAIL_FINISH_KEY must be one of {' '.join(KEYS)}, got {finish_on_key!r}")
    defaults = VoicemailSettings()
    voicemail = VoicemailSettings(
        greeting=env.get("VOICEMAIL_GREETING", "").strip() or defaults.greeting,
        thanks=env.get("VOICEMAIL_THANKS", "").strip() or defaults.thanks,
        language=language,
        max_length_sec=_integer(env, "VOICEMAIL_MAX_LENGTH_SEC", defaults.max_length_sec, 1),
        finish_on_key=finish_on_key,
        play_beep=_boolean(env, "VOICEMAIL_PLAY_BEEP", defaults.play_beep),
    )
    for name, text in (("VOICEMAIL_GREETING", voicemail.greeting), ("VOICEMAIL_THANKS", voicemail.thanks)):
        if len(text.encode()) > 4096:
            raise ConfigError(f"{name} must be at most 4096 bytes (FreeClimb's Say limit)")
    return Settings(
        signing_secrets=secrets,
        signature_tolerance_s=_integer(env, "SIGNATURE_TOLERANCE_S", 300, 1),
        public_base_url=_base_url(env),
        data_dir=env.get("DATA_DIR", "").strip() or "./data",
        voicemail=voicemail,
        flows_path=env.get("FLOWS_PATH", "").strip() or None,
        trusted_proxies=_integer(env, "TRUSTED_PROXIES", 0, 0),
        api_token=_api_token(env),
        freeclimb_account_id=env.get("FREECLIMB_ACCOUNT_ID", "").strip() or None,
        freeclimb_api_key=env.get("FREECLIMB_API_KEY", "").strip() or None,
        freeclimb_api_url=_api_url(env),
        mirror_audio=_boolean(env, "MIRROR_AUDIO", True),
        retention_days=_days(env),
    )


def _days(env: Mapping[str, str]) -> int | None:
    days = _integer(env, "RETENTION_DAYS", 0, 1) or None
    if days is not None and days > 36500:
        raise ConfigError(f"RETENTION_DAYS must be at most 36500 (a century), got {days}")
    return days


def _api_token(env: Mapping[str, str]) -> str | None:
    token = env.get("API_TOKEN", "").strip()
    if token and len(token) < 16:
        raise ConfigError("API_TOKEN must be at least 16 characters (it guards every recording)")
    return token or None


def _api_url(env: Mapping[str, str]) -> str:
    raw = env.get("FREECLIMB_API_URL", "").strip() or "https://www.freeclimb.com/apiserver"
    try:
        Url().check(raw)
    except Invalid:
        raise ConfigError(f"FREECLIMB_API_URL must be an absolute http(s) URL, got {raw!r}") from None
    return raw.rstrip("/")
