"""Groupings of wards into neighbourhoods and localities, and what they measure."""
