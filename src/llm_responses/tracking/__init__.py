"""Tracking projects: prompt sets that run themselves on a schedule, their runs and their alerts."""
