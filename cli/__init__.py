"""The ``placekit`` command line, assembled from the public functions of the packages below it.

:mod:`cli.main` builds the parser from each command module's ``register``:
:mod:`cli.places` (profile, validate, map), :mod:`cli.flows` (flows, suggest),
:mod:`cli.hospitals` (catchments), :mod:`cli.estates` (coverage, hubs, site-hubs) and
:mod:`cli.app` (app).
"""
