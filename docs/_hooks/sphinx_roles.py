"""MkDocs hook: the docstrings use Sphinx roles (``:class:`Client```, ``:func:`upload```),
which Markdown renders as the role's name before the code. The API reference drops the
role and keeps the code, so ``:class:`Client``` reads as ``Client``, and
``:class:`~tuskit_client.exceptions.ResponseError``` as ``ResponseError``, as Sphinx shows
it."""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const):(?=<code>)")
#: ``~a.b.C`` (Sphinx: show the last name only).
SHORTENED = re.compile(r"<code>~(?:[\w]+\.)*([\w]+)</code>")


def on_page_content(html: str, **kwargs: Any) -> str:
    """Remove a Sphinx role's name wherever it stands right before inline code, and show
    the last name of a ``~``-shortened reference."""
    return SHORTENED.sub(r"<code>\1</code>", ROLE.sub("", html))
