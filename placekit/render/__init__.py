"""Presentation: maps (folium), charts (matplotlib) and profile packs (HTML and PDF), over the library layers."""
