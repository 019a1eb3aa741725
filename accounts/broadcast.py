"""The one module that talks to the channel layer about households.

Everything that wants a household's dashboard to change calls a function
here; consumers only forward what arrives. Event types are prefixed
(`balance.update`) so that a consumer method handles exactly one kind.
"""


def household_group(household_id: int) -> str:
    return f"household.{household_id}"
