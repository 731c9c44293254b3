"""The app's guard: an error that escapes a page, a fragment or a widget's callback is shown as a short message, never a traceback.

- A :class:`~placekit.errors.PlacekitError` shows its own message (it names the input and the fix),
  says that nothing was changed and what to do next.
- Anything else is a bug: the page says so, that the work is kept, and where the log is; the
  traceback goes to ``$PLACEKIT_HOME/logs/app.log`` (rotated at :data:`LOG_MAX_BYTES`, with
  :data:`LOG_BACKUPS` old files kept) under a short reference shown on the page.
- Both have a "Details" expander (the error's type, where it happened, the reference).
- Streamlit's control flow (``st.rerun()``, ``st.stop()``, ``st.switch_page()``) raises exceptions
  that are not errors; they pass through untouched.

Use :func:`guarded` round a page or a fragment's body, and :func:`callback` on a widget's
``on_click``/``on_change`` function (callbacks run before the script, outside any page's guard:
their error is kept and shown at the top of the run they start, by :func:`show_pending`).
"""

from __future__ import annotations

import functools
import logging
import logging.handlers
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import streamlit as st

from placekit.errors import PlacekitError
from placekit.safe_text import escape_markdown
from placekit.settings import user_dir

try:  # Streamlit's control-flow exceptions (BaseException subclasses: ``except Exception`` never catches them)
    from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException as _Control
except ImportError:  # pragma: no cover - an older or newer Streamlit that moved them
    _Control = ()

__all__ = ["guarded", "callback", "show_error", "show_pending", "log_error", "log_path", "LOG_MAX_BYTES", "LOG_BACKUPS", "PAGE_HINT", "START_HINT"]

#: Size at which the app's log is rotated, and how many old logs are kept beside it (``app.log.1`` …).
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3
_LOGGER = logging.getLogger("placekit.app")
_PENDING = "_guard_pending"


def log_path() -> Path:
    """Return the app's log file: ``$PLACEKIT_HOME/logs/app.log``."""
    return user_dir() / "logs" / "app.log"


def _handler(path: Path) -> logging.Handler:
    """Return the logger's file handler for `path`, replacing one for another file (``PLACEKIT_HOME`` changed)."""
    for h in list(_LOGGER.handlers):
        if isinstance(h, logging.handlers.RotatingFileHandler) and Path(h.baseFilename) == path.resolve():
            return h
        _LOGGER.removeHandler(h)
        h.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    h = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8", delay=True)
    h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    _LOGGER.addHandler(h)
    _LOGGER.setLevel(logging.INFO)
    _LOGGER.propagate = False
    return h


def log_error(exc: BaseException, *, where: str) -> tuple[str, str]:
    """Write `exc` with its traceback to the app's log under a new reference; return ``(reference, log file or why not)``."""
    ref = uuid.uuid4().hex[:8]
    try:
        path = log_path()
        _handler(path)
        _LOGGER.error("reference %s, %s: %s: %s", ref, where, type(exc).__name__, exc, exc_info=(type(exc), exc, exc.__traceback__))
        return ref, str(path)
    except Exception as log_exc:  # noqa: BLE001 (the guard must never fail: an unwritable home still gets the message)
        return ref, f"(the log could not be written: {log_exc})"


def _frame(exc: BaseException) -> str:
    """Return the innermost frame of placekit's own code that `exc` passed through ("file:line in function")."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/streamlit/" not in f.filename.replace("\\", "/")]
    if not frames:
        return ""
    f = frames[-1]
    return f"{Path(f.filename).name}:{f.lineno} in {f.name}"


#: What to do after an expected error on a page (the default) and at the app's start.
PAGE_HINT = "Fix what the message names (a file, a setting or a value on this page) and try again; the other pages work as usual."
START_HINT = "Fix what the message names (the data root, a file or a setting), then reload the page."


def _message(exc: BaseException, where: str, hint: str = PAGE_HINT) -> dict[str, Any]:
    """Return what to show about `exc`: the short message, what to do next and the details (logging a bug)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(exc, PlacekitError):
        return {
            "text": f"**{escape_markdown(where)} stopped:** {escape_markdown(exc)}",
            "next": f"Nothing was changed. {hint}",
            "details": f"{type(exc).__name__} on {where}, {stamp}",
        }
    ref, log = log_error(exc, where=where)
    return {
        "text": f"**{escape_markdown(where)} stopped because of a bug in placekit** ({escape_markdown(type(exc).__name__)}).",
        "next": "Your work is kept (the working grouping and its autosaved draft). Try again, or open another page. "
        f"The details are in the app's log, `{log}`, under reference **{ref}**: please send that entry with a report.",
        "details": f"{type(exc).__name__}: {str(exc)[:500]}\nwhere: {where}, {_frame(exc)}\nwhen: {stamp}\nreference: {ref}\nlog: {log}",
    }


def show_error(exc: BaseException, *, where: str, hint: str = PAGE_HINT) -> None:
    """Show `exc` as a short message, what to do next (`hint`, for an expected error) and a "Details" expander; log it when it is a bug."""
    try:
        m = _message(exc, where, hint)
        st.error(m["text"], icon=":material/error:")
        st.caption(m["next"])
        with st.expander("Details"):
            st.text(m["details"])
    except Exception:  # noqa: BLE001 (e.g. the page's layout is broken): one line, still no traceback
        st.error(f"{where} stopped ({type(exc).__name__}). See the app's log, {log_path()}.")


@contextmanager
def guarded(where: str, *, hint: str = PAGE_HINT) -> Iterator[None]:
    """Show an error raised inside the block with :func:`show_error`; let Streamlit's rerun, stop and page switch through."""
    try:
        yield
    except _Control:
        raise
    except Exception as exc:  # noqa: BLE001 (this is the guard: every error ends here as a message)
        show_error(exc, where=where, hint=hint)


def callback(where: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Return a decorator for a widget callback: an error it raises is kept and shown at the top of the run it starts."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except _Control:
                raise
            except Exception as exc:  # noqa: BLE001 (shown by show_pending in this run)
                st.session_state[_PENDING] = (exc, where)
                return None

        return run

    return wrap


def show_pending() -> None:
    """Show (once) the error a callback raised before this run."""
    pending = st.session_state.pop(_PENDING, None)
    if pending:
        show_error(pending[0], where=pending[1])
