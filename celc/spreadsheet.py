"""CSV for people who open it in a spreadsheet."""


def safe_cell(text: str) -> str:
    """No spreadsheet formulas from what somebody typed (CSV injection): a leading `'`."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
