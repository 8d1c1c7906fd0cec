"""The Textual TUI of fdw-wizard: one module per screen, its ``.tcss`` beside it.

The only package (with ``wizard/commands/tui.py``) that imports Textual; it drives the engine
(``wizard.session``, ``wizard.engine``) and never decides what to change itself.
"""
