"""CSV downloads of the console, streamed through the one CSV writer."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from flask import Response, current_app, stream_with_context
from sqlalchemy.orm import Session

from .. import csvout, db

Rows = Callable[[Session], Iterable[Sequence[Any]]]


def csv_response(filename: str, header: Sequence[str], rows_of: Rows) -> Response:
    """Stream a CSV file whose rows are read in a session of their own, closed at its end.

    The page's session is closed first: a download may be read slowly, or never to the end,
    and must not hold a database transaction open meanwhile (PostgreSQL would keep its locks).
    """
    db.session().close()
    make_session = current_app.extensions["notifier.sessions"]

    def lines() -> Iterator[str]:
        with make_session() as s:
            yield from csvout.stream(header, rows_of(s))

    # stream_with_context keeps the request, and with it the reader's language for the words.
    return Response(stream_with_context(lines()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
