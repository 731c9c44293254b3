"""Serve folium's JavaScript and CSS from the app itself, so maps draw with no internet.

The assets come from the PyPI package ``folium-offline``, which carries the exact
files folium links to on CDNs. :func:`vendor_assets` writes them under
``<app folder>/static/vendor`` (served by Streamlit at ``/app/static/vendor/…`` when
``server.enableStaticServing`` is on; Streamlit serves the ``static`` folder beside
the app's main script), and :func:`use_local_assets` points every folium/branca
element at those copies.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import os
import uuid
from pathlib import Path

__all__ = ["vendor_assets", "use_local_assets", "asset_name", "static_dir", "URL_PREFIX"]

#: Where Streamlit serves the vendored files, relative to the app's origin.
URL_PREFIX = "app/static/vendor"


def static_dir(app_folder: str | Path) -> Path:
    """Return the folder Streamlit serves as ``/app/static/vendor`` for an app whose main script is in `app_folder`."""
    return Path(app_folder) / "static" / "vendor"


def _resources() -> dict[str, str]:
    from offlinefolium import elements

    return elements._res


def asset_name(url: str) -> str:
    """Return the local file name of the asset at `url` (hash prefix keeps names unique)."""
    base = url.rstrip("/").rsplit("/", 1)[-1] or "asset"
    if not base.endswith((".js", ".css")):
        base += ".js"
    return f"{hashlib.sha1(url.encode()).hexdigest()[:8]}-{base}"


def vendor_assets(target: str | Path) -> int:
    """Write every asset folium may link to into `target`; return how many were written."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    n = 0
    for url, text in _resources().items():
        path = target / asset_name(url)
        if not path.exists() or path.stat().st_size != len(text.encode("utf-8")):
            _write_atomic(path, text)
            n += 1
    return n


def _classes():
    import branca.element
    import folium
    import folium.features
    import folium.map
    import folium.plugins
    import folium.raster_layers
    import folium.vector_layers

    seen = set()
    for mod in (folium, folium.map, folium.features, folium.plugins, folium.raster_layers, folium.vector_layers, branca.element):
        for _, obj in inspect.getmembers(mod, inspect.isclass):
            if obj not in seen and (hasattr(obj, "default_js") or hasattr(obj, "default_css")):
                seen.add(obj)
                yield obj


def use_local_assets(prefix: str = URL_PREFIX) -> int:
    """Point folium's ``default_js``/``default_css`` at the vendored copies; return classes changed.

    Parameters
    ----------
    prefix
        URL path where :func:`static_dir` is served (no leading slash: relative to the
        app's origin, as streamlit-folium loads them into its own frame).
    """
    res = _resources()
    changed = 0
    for cls in _classes():
        for attr in ("default_js", "default_css"):
            links = cls.__dict__.get(attr)
            if not links:
                continue
            new = [(name, f"/{prefix}/{asset_name(url)}" if url in res else url) for name, url in links]
            if new != links:
                setattr(cls, attr, new)
                changed += 1
    return changed


def _write_atomic(path: Path, text: str) -> None:
    """Write `text` to a unique temporary file beside `path`, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    """Vendor the assets beside an app's main script (``python -m placekit.render.assets APP_FOLDER``)."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("app_folder", nargs="?", default=".", help="folder holding the app's main script (default: here)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    target = static_dir(args.app_folder)
    n = vendor_assets(target)
    if not args.quiet:
        print(f"{n} asset(s) written to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
