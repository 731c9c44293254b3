"""Estates: sites, travel times, hub-and-spoke networks, coverage and hub siting."""
