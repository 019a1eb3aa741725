# The same as English's (celc/formats/en/formats.py): India writes dates one way in all
# three languages; only the month names differ, and those come from the catalogues.
from celc.formats.en.formats import *  # noqa: F403
