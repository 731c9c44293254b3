"""Load, validate and join the data layers of a place (wards, LSOAs, practices, sites)."""
