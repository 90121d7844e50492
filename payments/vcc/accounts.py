"""VCC accounts, configured from the environment (settings.VCC_ACCOUNTS), validated here.

An account is a set of API client credentials and the two base URLs they work against. The
reserved name `builtin` is the built-in sandbox (payments/vcc/sandbox/), served by this app.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

BUILTIN = "builtin"
# [doc] VCC's regional hosts; the token endpoint path is fixed.
REGION_HOSTS = {
    "emea": "https://emea.cc.vonage.com",
    "nam": "https://nam.cc.vonage.com",
    "apac": "https://apac.cc.vonage.com",
}
TOKEN_PATH = "/Auth/connect/token"
# The environment keys of an account, each VCC_<NAME>_<KEY> (env_key).
ACCOUNT_KEYS = ("AUTH_URL", "API_URL", "REGION", "CLIENT_ID", "CLIENT_SECRET")
# The built-in sandbox's own credentials: not secret, it only exists in development.
BUILTIN_CLIENT_ID = "builtin-sandbox-client"
BUILTIN_CLIENT_SECRET = "builtin-sandbox-secret"


class AccountConfigError(ValueError):
    """A VCC account whose configuration cannot work; names the environment key to fix."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class VccAccount:
    name: str
    auth_url: str
    api_url: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never show the secret
        return f"VccAccount(name={self.name!r}, auth_url={self.auth_url!r}, api={self.api_url!r})"


def env_key(name: str, key: str) -> str:
    """The environment key of an account's setting: VCC_<NAME>_<KEY>."""
    return f"VCC_{name.upper().replace('-', '_')}_{key}"


def configured_account_names() -> list[str]:
    return list(settings.VCC_ACCOUNTS)


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def build_account(name: str, raw: dict[str, str]) -> VccAccount:
    """A VccAccount from its raw VCC_<NAME>_* values; AccountConfigError when it cannot work."""
    if name == BUILTIN:
        if not settings.VCC_SANDBOX_ENABLED:
            raise AccountConfigError(
                "The built-in sandbox account is listed but the sandbox is off.",
                "VCC_SANDBOX_ENABLED",
            )
        base = f"{settings.SITE_URL}/sandbox/vcc"
        return VccAccount(
            name, base + TOKEN_PATH, base + "/api", BUILTIN_CLIENT_ID, BUILTIN_CLIENT_SECRET
        )
    auth_url = raw.get("AUTH_URL", "").strip()
    region = raw.get("REGION", "").strip().lower()
    if not auth_url:
        if not region:
            raise AccountConfigError(
                f"VCC account '{name}' has no token URL: set {env_key(name, 'AUTH_URL')} or "
                f"{env_key(name, 'REGION')} (emea, nam or apac).",
                env_key(name, "AUTH_URL"),
            )
        if region not in REGION_HOSTS:
            raise AccountConfigError(
                f"VCC account '{name}' has unknown region '{region}': use emea, nam or apac.",
                env_key(name, "REGION"),
            )
        auth_url = REGION_HOSTS[region] + TOKEN_PATH
    if not _valid_url(auth_url):
        raise AccountConfigError(
            f"VCC account '{name}': '{auth_url}' is not an http(s) URL.",
            env_key(name, "AUTH_URL"),
        )
    api_url = raw.get("API_URL", "").strip().rstrip("/")
    if not api_url:
        raise AccountConfigError(
            f"VCC account '{name}' has no Payment API base URL: set {env_key(name, 'API_URL')}.",
            env_key(name, "API_URL"),
        )
    if not _valid_url(api_url):
        raise AccountConfigError(
            f"VCC account '{name}': '{api_url}' is not an http(s) URL.",
            env_key(name, "API_URL"),
        )
    for key in ("CLIENT_ID", "CLIENT_SECRET"):
        if not raw.get(key, "").strip():
            raise AccountConfigError(
                f"VCC account '{name}' has no {key.lower().replace('_', ' ')}: "
                f"set {env_key(name, key)}.",
                env_key(name, key),
            )
    return VccAccount(
        name, auth_url, api_url, raw["CLIENT_ID"].strip(), raw["CLIENT_SECRET"].strip()
    )


def get_account(name: str) -> VccAccount:
    """The configured account `name`; AccountConfigError when it is unknown or broken."""
    if name not in settings.VCC_ACCOUNTS:
        raise AccountConfigError(
            f"VCC account '{name}' is not in VCC_ACCOUNTS "
            f"({', '.join(settings.VCC_ACCOUNTS) or 'empty'}).",
            "VCC_ACCOUNTS",
        )
    return build_account(name, settings.VCC_ACCOUNTS[name])


@register()
def check_vcc_accounts(**kwargs: object) -> list[CheckMessage]:
    """`manage.py check`: every configured VCC account must be usable."""
    errors: list[CheckMessage] = []
    for name, raw in settings.VCC_ACCOUNTS.items():
        try:
            build_account(name, raw)
        except AccountConfigError as error:
            errors.append(Error(str(error), hint=f"Fix {error.key}.", id="vcc.E001"))
    if not settings.VCC_ACCOUNTS:
        errors.append(
            Error(
                "No VCC account is configured.",
                hint="Set VCC_ACCOUNTS and the VCC_<NAME>_* keys (see .env.example).",
                id="vcc.E002",
            )
        )
    return errors
