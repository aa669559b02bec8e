"""Spatial data: the models, statuses and database plumbing every other layer builds on."""
