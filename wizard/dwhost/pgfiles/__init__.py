"""Line-preserving editors for postgresql.conf and pg_hba.conf (see FIELD-GUIDE section 2).

Untouched lines keep their bytes (encoding, CRLF/LF, final newline); a UTF-8 BOM is never
written back (PostgreSQL rejects it). ``judge`` asks a running server about an edit before a
reload or restart depends on it.
"""

from wizard.dwhost.pgfiles.pg_hba import HbaEdit, HbaFile, HbaPosition, HbaRule, hba_quote
from wizard.dwhost.pgfiles.postgresql_conf import (
    ConfFile,
    Setting,
    SettingInIncludedFile,
    auto_conf_shadows,
    diff,
    format_value,
    pg_path,
    quote_value,
)
from wizard.dwhost.pgfiles.textfile import TextFile, UnencodableText

__all__ = [
    "ConfFile",
    "HbaEdit",
    "HbaFile",
    "HbaPosition",
    "HbaRule",
    "Setting",
    "SettingInIncludedFile",
    "TextFile",
    "UnencodableText",
    "auto_conf_shadows",
    "diff",
    "format_value",
    "hba_quote",
    "pg_path",
    "quote_value",
]
