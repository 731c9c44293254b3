"""Command ``app``: start the Streamlit app from an installed placekit, from any folder.

Streamlit serves static files from the ``static`` folder beside an app's main
script, and the Leaflet assets must be served by the app itself for maps to draw
offline. So the app runs from a small launcher script written to the user's placekit
folder (``$PLACEKIT_HOME/app/placekit_app.py``), which calls :func:`placekit.ui.main.run`;
the assets are written beside it when the app starts.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import uuid
from pathlib import Path

from geo.england import england_index
from geo.national import is_manifest, resolve_authority
from placekit.errors import PlacekitError
from placekit.settings import DATA_ENV_VAR, PLACE_ENV_VAR, data_root, user_dir

__all__ = ["register", "cmd_app", "write_launcher", "streamlit_command", "LAUNCHER"]

LAUNCHER = '''"""placekit app launcher, written by `placekit app`; it is rewritten on every start, do not edit."""
from pathlib import Path

from placekit.ui.main import run

run(app_folder=Path(__file__).resolve().parent)
'''

#: Streamlit settings of the app (the same as the checkout's ``.streamlit/config.toml``).
SERVER_OPTIONS = {
    "server.headless": "true",
    "server.enableStaticServing": "true",
    "server.maxUploadSize": "1",
    "browser.gatherUsageStats": "false",
    "client.toolbarMode": "minimal",
}


def write_launcher(folder: Path | None = None) -> Path:
    """Write the launcher script into `folder` (default ``$PLACEKIT_HOME/app``) atomically; return its path."""
    folder = folder or user_dir() / "app"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "placekit_app.py"
    if not path.exists() or path.read_text(encoding="utf-8") != LAUNCHER:
        tmp = folder / f".placekit_app.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        tmp.write_text(LAUNCHER, encoding="utf-8")
        tmp.replace(path)
    return path


def streamlit_command(launcher: Path, *, port: int | None = None, address: str | None = None) -> list[str]:
    """Return the command line that serves `launcher` with the app's settings."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(launcher)]
    for k, v in SERVER_OPTIONS.items():
        cmd += [f"--{k}", v]
    if port:
        cmd += ["--server.port", str(port)]
    if address:
        cmd += ["--server.address", address]
    return cmd


#: Run the app's first page once with Streamlit's AppTest, in a child process (the CLI itself never imports Streamlit).
CHECK_SCRIPT = """
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=300).run()
if at.exception:
    print("placekit app: the app failed to start:", *[e.value for e in at.exception], sep="\\n", file=sys.stderr)
    raise SystemExit(1)
titles = [t.value for t in at.title]
print("placekit app: started; first page:", titles[0] if titles else "(no title)")
"""


def _check(launcher: Path) -> int:
    """Run the app's first page once, headless, and report what it shows (an install check)."""
    return subprocess.call([sys.executable, "-c", CHECK_SCRIPT, str(launcher)], env=os.environ.copy())


def cmd_app(args: argparse.Namespace) -> int:
    """Start the app (or, with ``--check``, run its first page once and exit)."""
    if importlib.util.find_spec("streamlit") is None or importlib.util.find_spec("streamlit_folium") is None:
        raise PlacekitError("the app needs Streamlit: install placekit with its app extra, `pip install 'placekit[app]'`.")
    launcher = write_launcher()
    if args.data:
        os.environ[DATA_ENV_VAR] = str(Path(args.data).expanduser().resolve())
    if getattr(args, "place", None) and not is_manifest(args.place):  # an English authority: the app opens on it (?place=CODE)
        root = data_root(args.data)
        if root is None:
            raise PlacekitError(f"--place {args.place!r} opens a place from England's national files, which need a data root: set --data DIR "
                                "or PLACEKIT_DATA.")  # fmt: skip
        os.environ[PLACE_ENV_VAR] = resolve_authority(args.place, england_index(root))[0]
    if args.check:
        return _check(launcher)
    return subprocess.call(streamlit_command(launcher, port=args.port, address=args.address), env=os.environ.copy())


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``app`` to the placekit parser."""
    sp = sub.add_parser("app", help="start the Streamlit app (http://localhost:8501)")
    sp.add_argument("--port", type=int, default=None, help="port to serve on (default 8501)")
    sp.add_argument("--address", default=None, help="address to listen on (default: all)")
    sp.add_argument("--check", action="store_true", help="run the first page once, headless, report and exit (an install check)")
    sp.set_defaults(func=cmd_app)
