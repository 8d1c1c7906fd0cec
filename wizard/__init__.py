"""fdw-wizard engine: everything that decides what to change. Never imports Textual."""

__version__ = "0.1.0"
