from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A household: whoever signs in owns devices and is paid for their cuts.

    Any user, however created, is a working household with a zero balance;
    staff accounts are households too but have no devices unless given some.
    """

    class Meta(AbstractUser.Meta):
        verbose_name = "household"
        verbose_name_plural = "households"
        swappable = "AUTH_USER_MODEL"
