"""Serve folium's JavaScript and CSS from the app itself, so maps draw with no internet.

The assets come from the PyPI package ``folium-offline``, which carries the exact
files folium links to on CDNs. :func:`vendor_assets` writes them under ``static/vendor``
(served by Streamlit at ``/app/static/vendor/…`` when ``server.enableStaticServing`` is
on), and :func:`use_local_assets` points every folium/branca element at those copies.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
from pathlib import Path

__all__ = ["vendor_assets", "use_local_assets", "asset_name", "STATIC_DIR", "URL_PREFIX"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor"
URL_PREFIX = "app/static/vendor"


def _resources() -> dict[str, str]:
    from offlinefolium import elements

    return elements._res


def asset_name(url: str) -> str:
    """Return the local file name of the asset at `url` (hash prefix keeps names unique)."""
    base = url.rstrip("/").rsplit("/", 1)[-1] or "asset"
    if not base.endswith((".js", ".css")):
        base += ".js"
    return f"{hashlib.sha1(url.encode()).hexdigest()[:8]}-{base}"


def vendor_assets(target: Path = STATIC_DIR) -> int:
    """Write every asset folium may link to into `target`; return how many were written."""
    target.mkdir(parents=True, exist_ok=True)
    n = 0
    for url, text in _resources().items():
        path = target / asset_name(url)
        if not path.exists() or path.stat().st_size != len(text.encode("utf-8")):
            path.write_text(text, encoding="utf-8")
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
        URL path where :data:`STATIC_DIR` is served (no leading slash: relative to the
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


def main(argv=None) -> int:
    """Vendor the assets (``python -m placekit.assets``)."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    n = vendor_assets()
    if not args.quiet:
        print(f"{n} asset(s) written to {STATIC_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
