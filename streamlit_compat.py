"""Every use of Streamlit's private parts, in one place, each checked once at import (Streamlit
1.67; a release may rename any of them). Where one is missing, the feature that needs it is off
(a warning in the server's log, once) and every page still works:

    is_active_session   streamlit.runtime.Runtime.instance().is_active_session
                        → classroom's janitor (memory of closed tabs given back); off: kept
    script_context      get_script_run_ctx(): the run's session_id and session_state
                        → the janitor's watch; off: as above
    run_token           the run context's `cursors` dict, replaced by every script run
                        → live_chart mounts a chart again in each run; off: the run context
                          itself (a chart outside the main area may then not refresh)
    main_script_path    the run context's `main_script_path`
                        → live_chart puts plotly.js in the app's static folder next to it; off:
                          sys.argv[0], which `streamlit run` sets to the script (not under AppTest)
    old_session_named   the websocket's Sec-Websocket-Protocol header, whose third entry is the
                        session the browser had (Streamlit's frontend)
                        → ui's "the connection was lost" notice; off: no notice

`check()` returns what is missing (the upgrade check, tools/check-streamlit-upgrade, prints it).
"""

from __future__ import annotations

import logging

import streamlit as st

__all__ = ["is_active_session", "script_context", "run_token", "main_script_path",
           "old_session_named", "check", "MISSING"]

_LOG = logging.getLogger(__name__)
MISSING: dict[str, str] = {}          # feature → why it is off


def _off(feature: str, why: str) -> None:
    if feature not in MISSING:
        MISSING[feature] = why
        _LOG.warning("streamlit_compat: %s is off (%s); the app works without it", feature, why)


try:                                   # each looked up once, here
    from streamlit.runtime import Runtime as _Runtime
    _Runtime.exists, _Runtime.instance, _Runtime.is_active_session      # noqa: B018
except (ImportError, AttributeError) as exc:
    _Runtime = None
    _off("the janitor of closed tabs", f"Runtime.is_active_session: {exc}")

try:
    from streamlit.runtime.scriptrunner import get_script_run_ctx as _get_ctx
except ImportError as exc:
    _get_ctx = None
    _off("the janitor of closed tabs", f"get_script_run_ctx: {exc}")
    _off("live charts' remounting per run", f"get_script_run_ctx: {exc}")


def is_active_session():
    """The server's `is_active_session(session_id) -> bool`, or None (no server: AppTest, or
    the private API is gone)."""
    if _Runtime is None:
        return None
    try:
        if not _Runtime.exists():
            return None
        return _Runtime.instance().is_active_session
    except Exception as exc:  # noqa: BLE001
        _off("the janitor of closed tabs", f"Runtime.instance(): {exc}")
        return None


def _ctx():
    if _get_ctx is None:
        return None
    try:
        return _get_ctx(suppress_warning=True)
    except Exception as exc:  # noqa: BLE001
        _off("the janitor of closed tabs", f"get_script_run_ctx(): {exc}")
        return None


def script_context():
    """(session_id, session_state) of the script run, or None."""
    ctx = _ctx()
    sid, state = getattr(ctx, "session_id", None), getattr(ctx, "session_state", None)
    if ctx is not None and (sid is None or state is None):
        _off("the janitor of closed tabs", "the run context has no session_id / session_state")
    return None if sid is None or state is None else (sid, state)


def run_token():
    """An object that changes with every script run: the run context's `cursors` (or, without
    it, the run context)."""
    ctx = _ctx()
    if ctx is None:
        return None
    cursors = getattr(ctx, "cursors", None)
    if cursors is None:
        _off("live charts' remounting per run", "the run context has no cursors")
        return ctx
    return cursors


def main_script_path() -> str | None:
    """The path of the app's main script (the one `streamlit run` was given), or None."""
    ctx = _ctx()
    if ctx is None:
        return None
    path = getattr(ctx, "main_script_path", None)
    if not isinstance(path, str) or not path:
        _off("live charts' static folder from the run context",
             "the run context has no main_script_path (sys.argv[0] is used)")
        return None
    return path


def old_session_named() -> bool:
    """Whether the browser named a session it had before (it reconnected after a server
    restart or a move to another replica); False where that cannot be told."""
    try:
        protocols = (st.context.headers.get("Sec-Websocket-Protocol") or "").split(",")
    except Exception:  # noqa: BLE001 - no headers (AppTest): not a reconnect
        return False
    return len(protocols) >= 3 and protocols[2].strip() != ""


def check() -> dict[str, str]:
    """What is missing here: feature → why (empty when every private part was found)."""
    return dict(MISSING)
