"""placekit: plan neighbourhood health and care by place.

The domain code lives in the sibling packages :mod:`geo` (loading and validating
place data), :mod:`boundaries` (groupings, profiles, flows) and :mod:`estates`
(sites, travel times, hubs and coverage). This package holds what they share:
settings, errors, rendering and the command line.
"""

__version__ = "0.1.0"
