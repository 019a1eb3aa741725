"""The command's name before 2026-11-30, kept for operators' cron jobs: `create_payouts`."""

from payouts.management.commands.create_payouts import Command  # noqa: F401
