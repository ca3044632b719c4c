"""An error body as one readable line: RFC 9457 problem details or the start of plain text.

The IETF resumable-upload draft names its failures with problem types (a 409's
``mismatching-upload-offset`` with ``expected-offset``, ``completed-upload``,
``inconsistent-upload-length``); a JSON object on one line says less to a person than its
title and members do. No I/O.
"""

import json
from collections.abc import Mapping
from typing import Final

from tuskit_common import ietf_draft

#: The media type of a problem-details body (RFC 9457 §3).
PROBLEM_JSON: Final = ietf_draft.PROBLEM_JSON
#: How much of a body goes into a message.
_LIMIT: Final = 200
#: Problem-details members already said by the message's other words.
_PLAIN: Final = frozenset({"type", "title", "detail", "status", "instance"})


def describe_body(body: str, content_type: str | None) -> str:
    """One line for an error body: a problem's title, detail, type name and extra members
    (``expected-offset: 5``), else the body's words; "" when there is nothing to say."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == PROBLEM_JSON:
        problem = _problem(body)
        if problem is not None:
            return describe_problem(problem)[:_LIMIT]
    return " ".join(body.split())[:_LIMIT]


def describe_problem(problem: Mapping[str, object]) -> str:
    """``title: detail (type name; member: value, ...)`` from a parsed problem object."""
    words = [str(problem[key]) for key in ("title", "detail") if isinstance(problem.get(key), str)]
    kind = problem.get("type")
    notes = []
    if isinstance(kind, str) and kind not in ("", "about:blank"):
        notes.append(kind.rsplit("#", 1)[-1].rsplit("/", 1)[-1] or kind)
    notes += [
        f"{key}: {value}"
        for key, value in problem.items()
        if key not in _PLAIN and isinstance(value, str | int | float | bool)
    ]
    text = ": ".join(words) or "problem"
    return f"{text} ({'; '.join(notes)})" if notes else text


def _problem(body: str) -> dict[str, object] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None  # cut off at the read limit, or not JSON after all
    return parsed if isinstance(parsed, dict) else None
