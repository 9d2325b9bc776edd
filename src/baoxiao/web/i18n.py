"""Languages of the web app: gettext catalogs compiled from the .po files at start-up,
the request's locale, and money and dates formatted per locale with Babel."""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from baoxiao.kernel.i18n import negotiate

# Web locale tag -> Babel/gettext locale name.
LOCALES = {"zh-CN": "zh_CN", "en": "en"}
DEFAULT_TZ = "Asia/Shanghai"


def po_path(locale: str) -> str:
    folder = resources.files("baoxiao.web").joinpath("translations", locale, "LC_MESSAGES")
    return str(folder.joinpath("messages.po"))


@cache
def translations(lang: str) -> gettext.GNUTranslations:
    """The catalog of a web locale, compiled in memory from its .po file (no build step)."""
    with open(po_path(LOCALES[lang]), "rb") as handle:
        catalog = read_po(handle, locale=LOCALES[lang])
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def choose(saved: str | None, accept_language: str | None) -> str:
    """The user's saved choice first, then the browser's Accept-Language."""
    if saved in LOCALES:
        return saved
    return negotiate(accept_language)


def money(amount: Decimal | None, currency: str, lang: str) -> str:
    if amount is None:
        return ""
    if not isinstance(amount, Decimal):  # a float here would be a bug upstream
        raise TypeError(f"money needs a Decimal, not {type(amount).__name__}")
    return format_currency(amount, currency, locale=LOCALES[lang])


def number(value: Decimal | int, lang: str) -> str:
    return format_decimal(value, locale=LOCALES[lang])


def day(value: date | None, lang: str) -> str:
    if value is None:
        return ""
    return format_date(value, format="medium", locale=LOCALES[lang])


def moment(value: datetime | None, lang: str, tz: str = DEFAULT_TZ) -> str:
    if value is None:
        return ""
    return format_datetime(value, format="medium", tzinfo=ZoneInfo(tz), locale=LOCALES[lang])
