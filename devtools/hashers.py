"""The password hasher of the test process (devtools.testing): PBKDF2 with one round.

Django's 1,000,000 rounds (about 0.4 s a hash here) are the point in production and
were about half of the suite's time, since every test user and every sign-in hashes. The
algorithm's name is unchanged and a PBKDF2 hash carries its own round count, so the
servers a test starts, on their production hashers, still verify these passwords.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class OneRoundPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1
