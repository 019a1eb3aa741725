"""CSV for people who open it in a spreadsheet."""

import re

# What makes Excel, LibreOffice or Google Sheets read a cell as a formula or a DDE
# call: also after leading whitespace (some trim it on import) and in full-width
# and small forms of = + - @ | (what an East Asian input method types).
FORMULA_LEADS = frozenset(
    "=+-@|"
    "\uff1d\uff0b\uff0d\uff20\uff5c"  # full-width
    "\ufe66\ufe62\ufe63"  # small = + -
)
CONTROL_LEADS = ("\t", "\r", "\n")
# A plain number such as -12.5 is data, not a formula: left as it is, it stays a number.
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def safe_cell(text: str) -> str:
    """No spreadsheet formulas from what somebody typed (CSV injection): a leading `'`."""
    if PLAIN_NUMBER.fullmatch(text):
        return text
    if text[:1] in CONTROL_LEADS or text.lstrip()[:1] in FORMULA_LEADS:
        return "'" + text
    return text
