"""Where the reference agent lived before it moved to `agent/` (2026-11-30): devices set up
with `python -m devices.agent` go on working after an update. New set-ups: `python -m agent`."""

import sys

from agent.reference import main

if __name__ == "__main__":
    sys.exit(main())
