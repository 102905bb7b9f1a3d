"""Roster (排班) and attendance review for station managers and congress staff."""

from views.manage import bp  # noqa: F401
