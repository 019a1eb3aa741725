"""Repeated wrong passwords lock a username out from that address, and an address out after
many failures across usernames; a browser that signed in before is apart (django-axes and
accounts/lockout.py)."""

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


def sign_in(client, password, path="/accounts/login/"):
    return client.post(path, {"username": "alice", "password": password})


def test_after_the_limit_even_the_right_password_is_refused(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "wrong").status_code == 200  # the form again, with its error
    assert sign_in(client, "wrong").status_code == 429  # the last allowed failure locks

    locked = sign_in(client, "alice-password-1")

    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in client.session


def test_the_admin_sign_in_is_locked_the_same_way(client, board_staff):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "board", "password": "wrong"})

    locked = client.post("/admin/login/", {"username": "board", "password": "board-password-1"})

    assert locked.status_code == 429


def test_a_success_before_the_limit_starts_the_count_again(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "wrong")
    assert sign_in(client, "alice-password-1").status_code == 302
    client.post("/accounts/logout/")

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "wrong")

    assert sign_in(client, "alice-password-1").status_code == 302


def test_another_username_from_the_same_address_is_not_locked(client, alice, bob):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "wrong")

    response = client.post("/accounts/login/", {"username": "bob", "password": "bob-password-1"})

    assert response.status_code == 302


# A mobile carrier's CGNAT address, shared by many households; another one.
SHARED = "203.0.113.7"
ELSEWHERE = "198.51.100.9"
DEVICE_COOKIE = "celc_device"
CONFIGURED_ADDRESS_LIMIT = settings.LOGIN_ADDRESS_FAILURE_LIMIT


@pytest.fixture(params=["site", "admin"])
def door(request, alice, board_staff, settings):
    """The site's sign-in with a household, or the admin's with board staff; the address
    limit lowered to save password hashing (the spraying test puts it back)."""
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 12
    if request.param == "site":
        return "/accounts/login/", "alice", "alice-password-1"
    return "/admin/login/", "board", "board-password-1"


def attempt(client, door, password, address=SHARED, username=None):
    path, own_username, _ = door
    return client.post(
        path, {"username": username or own_username, "password": password}, REMOTE_ADDR=address
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def spray(door, failures: int, address=SHARED) -> list[int]:
    """A stranger at `address` tries a few passwords for each of many usernames."""
    stranger = Client()
    return [
        attempt(stranger, door, "wrong", address, username=f"someone{n // 4}").status_code
        for n in range(failures)
    ]


def test_a_username_locked_from_one_address_signs_in_from_another(door):
    stranger, owner = Client(), Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(stranger, door, "wrong")
    assert attempt(stranger, door, door[2]).status_code == 429

    response = attempt(owner, door, door[2], address=ELSEWHERE)

    assert response.status_code == 302 and signed_in(owner)


def test_spraying_a_few_guesses_at_many_usernames_locks_the_address(door, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = limit = CONFIGURED_ADDRESS_LIMIT  # 30 by default

    codes = spray(door, limit)

    assert 429 not in codes[:-1] and codes[-1] == 429  # 4 a username: never a pair's limit
    assert attempt(Client(), door, door[2]).status_code == 429  # even the right password
    assert attempt(Client(), door, door[2], address=ELSEWHERE).status_code == 302


def test_a_success_at_the_address_does_not_wipe_its_failures(door, bob):
    spray(door, settings.LOGIN_ADDRESS_FAILURE_LIMIT - 1)
    accomplice = Client()
    accomplice.post(
        "/accounts/login/", {"username": "bob", "password": "bob-password-1"}, REMOTE_ADDR=SHARED
    )
    assert signed_in(accomplice)

    assert spray(door, 1) == [429]


def test_a_browser_that_signed_in_before_is_not_locked_out_by_others_at_its_address(door):
    owner, stranger = Client(), Client()
    assert attempt(owner, door, door[2]).status_code == 302
    owner.post("/accounts/logout/", REMOTE_ADDR=SHARED)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(stranger, door, "wrong")  # the owner's username, the owner's address
    spray(door, settings.LOGIN_ADDRESS_FAILURE_LIMIT)  # and the address itself
    assert attempt(stranger, door, door[2]).status_code == 429

    response = attempt(owner, door, door[2])

    assert response.status_code == 302 and signed_in(owner)


def test_the_device_cookie_is_signed_http_only_long_lived_and_names_the_username(door):
    response = attempt(Client(), door, door[2])

    cookie = response.cookies[DEVICE_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) >= 365 * 86400
    assert cookie["secure"] == ("Secure" if settings.SESSION_COOKIE_SECURE else "")
    assert door[1] in cookie.value and ":" in cookie.value  # the username, signed


def test_a_forged_or_another_users_device_cookie_counts_for_nothing(door, bob):
    stranger = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(stranger, door, "wrong")
    bobs_browser = Client()
    bobs_browser.post(
        "/accounts/login/", {"username": "bob", "password": "bob-password-1"}, REMOTE_ADDR=SHARED
    )
    bobs_browser.post("/accounts/logout/", REMOTE_ADDR=SHARED)
    forged = Client()
    forged.cookies[DEVICE_COOKIE] = bobs_browser.cookies[DEVICE_COOKIE].value.replace(
        "bob", door[1], 1
    )

    assert attempt(bobs_browser, door, door[2]).status_code == 429  # bob's, not this user's
    assert attempt(forged, door, door[2]).status_code == 429  # the signature no longer fits


def test_failures_with_a_device_cookie_are_counted_apart_and_locked_too(door):
    owner = Client()
    attempt(owner, door, door[2])
    owner.post("/accounts/logout/", REMOTE_ADDR=SHARED)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(owner, door, "wrong").status_code == 200
    assert attempt(owner, door, "wrong").status_code == 429

    assert attempt(owner, door, door[2]).status_code == 429  # this browser: locked
    assert attempt(Client(), door, door[2]).status_code == 302  # the address's count: untouched


def test_browsers_failures_are_shown_to_superusers_only(client, board_staff, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "root-pw-1")
    url = "/admin/accounts/browsersigninfailures/"

    client.force_login(board_staff)
    assert client.get(url).status_code == 403
    client.force_login(root)
    assert client.get(url).status_code == 200


# The password asked again of a signed-in household: before changing where its payouts go,
# and (the old one) before changing the password. Each a door of its own, counted as
# sign-ins are: per username and address, with the same limit and the same lockout page.
CONFIRM_DOORS = {
    "payout details": (
        "/accounts/payout-details/",
        lambda password: {
            "payout_method": "upi",
            "payout_upi_id": "mule@ybl",
            "password": password,
        },
    ),
    "password change": (
        "/accounts/password_change/",
        lambda password: {
            "old_password": password,
            "new_password1": "a-brand-new-passphrase",
            "new_password2": "a-brand-new-passphrase",
        },
    ),
}


@pytest.fixture(params=list(CONFIRM_DOORS))
def confirm(request):
    path, form = CONFIRM_DOORS[request.param]

    def post(client, password, address=SHARED):
        return client.post(path, form(password), REMOTE_ADDR=address)

    return post


def changed(alice) -> bool:
    alice.refresh_from_db()
    return alice.payout_upi_id == "mule@ybl" or alice.check_password("a-brand-new-passphrase")


def test_guessing_a_signed_in_households_password_locks_like_signing_in(client, alice, confirm):
    """A session left open (a shared phone): guessing the password to redirect the payouts,
    or to take the account, is locked after the sign-in limit, even the right one then; and
    the pair is locked for signing in too."""
    client.force_login(alice)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert confirm(client, "wrong").status_code == 200  # the form again, with its error
    locked = confirm(client, "wrong")

    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.content.decode()
    assert "paused on this connection for 15 min 00 s" in locked.content.decode()
    assert confirm(client, "alice-password-1").status_code == 429 and not changed(alice)
    signing_in = Client().post(
        "/accounts/login/",
        {"username": "alice", "password": "alice-password-1"},
        REMOTE_ADDR=SHARED,
    )
    assert signing_in.status_code == 429
    elsewhere = Client()
    elsewhere.force_login(alice)
    assert confirm(elsewhere, "alice-password-1", address=ELSEWHERE).status_code == 302
    assert changed(alice)


def test_sign_in_failures_and_wrong_confirmations_add_up(client, alice, confirm):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        Client().post(
            "/accounts/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR=SHARED
        )
    client.force_login(alice)

    assert confirm(client, "wrong").status_code == 429


def test_a_right_confirmation_starts_the_count_again_as_a_sign_in_does(client, alice, confirm):
    client.force_login(alice)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        confirm(client, "wrong")
    assert confirm(client, "alice-password-1").status_code == 302

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert confirm(client, "wrong").status_code == 200
    login = Client().post(
        "/accounts/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR=SHARED
    )
    assert login.status_code == 429  # the count went on from the reset, not from before it


def test_wrong_confirmations_in_a_remembered_browser_count_for_that_browser(
    client, alice, confirm, settings
):
    """A browser that signed in (its device cookie) is counted by its own failures, as at the
    sign-in: others at its address do not lock it, its own do."""
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 12  # fewer hashes to spray
    assert attempt(client, SITE, "alice-password-1").status_code == 302
    spray(SITE, settings.LOGIN_ADDRESS_FAILURE_LIMIT)  # strangers lock the address
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert confirm(client, "wrong").status_code == 200

    assert confirm(client, "wrong").status_code == 429
    client.post("/accounts/logout/", REMOTE_ADDR=SHARED)
    assert attempt(client, SITE, "alice-password-1").status_code == 429  # this browser: locked
    assert attempt(Client(), SITE, "alice-password-1", address=ELSEWHERE).status_code == 302


SITE = ("/accounts/login/", "alice", "alice-password-1")


def test_a_password_change_forgets_every_browser_remembered_before(alice):
    """A device cookie from before the password changed (the old password leaked, say) is
    no longer a remembered browser: it counts as anonymous, locked with its address. The
    browser that changed the password stays remembered."""
    old, changer = Client(), Client()
    assert attempt(old, SITE, "alice-password-1").status_code == 302
    assert attempt(changer, SITE, "alice-password-1").status_code == 302
    changer.post(
        "/accounts/password_change/",
        {
            "old_password": "alice-password-1",
            "new_password1": "a-brand-new-passphrase",
            "new_password2": "a-brand-new-passphrase",
        },
        REMOTE_ADDR=SHARED,
    )
    changer.post("/accounts/logout/", REMOTE_ADDR=SHARED)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), SITE, "wrong")  # the pair: locked

    assert attempt(old, SITE, "a-brand-new-passphrase").status_code == 429
    assert attempt(changer, SITE, "a-brand-new-passphrase").status_code == 302


def test_a_users_remembered_browsers_share_one_failure_budget(alice):
    """Each remembered browser does not get a budget of its own: the user's failures over all
    of them count together, locked at the same limit."""
    browsers = [Client() for _ in range(settings.AXES_FAILURE_LIMIT)]
    for browser in browsers:
        assert attempt(browser, SITE, "alice-password-1").status_code == 302
        browser.post("/accounts/logout/", REMOTE_ADDR=SHARED)

    codes = [attempt(browser, SITE, "wrong").status_code for browser in browsers]

    assert codes == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert all(attempt(b, SITE, "alice-password-1").status_code == 429 for b in browsers)
    assert attempt(Client(), SITE, "alice-password-1", address=ELSEWHERE).status_code == 302


def test_the_admins_password_change_counts_the_old_password_the_same_way(client, board_staff):
    client.force_login(board_staff)
    url = "/admin/password_change/"

    def change(old):
        form = {"old_password": old, "new_password1": "a-new-passphrase-9"}
        return client.post(url, {**form, "new_password2": form["new_password1"]})

    codes = [change("wrong").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]

    assert codes == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert change("board-password-1").status_code == 429
    board_staff.refresh_from_db()
    assert board_staff.check_password("board-password-1")


def test_the_admins_password_change_is_still_the_admins(client, alice, board_staff):
    url = "/admin/password_change/"
    form = {"old_password": "board-password-1", "new_password1": "a-new-passphrase-9"}
    client.force_login(alice)
    assert client.get(url)["Location"].startswith("/admin/login/")  # households: no

    client.force_login(board_staff)
    done = client.post(url, {**form, "new_password2": form["new_password1"]})

    assert done.status_code == 302 and done["Location"] == "/admin/password_change/done/"
    board_staff.refresh_from_db()
    assert board_staff.check_password("a-new-passphrase-9")


PROXY = "10.0.0.2"  # the TLS proxy: every request behind it comes from here


def through_the_proxy(client, door, password, forwarded_for):
    """A sign-in through the proxy, which appends the client's address to X-Forwarded-For
    (after whatever the client itself sent)."""
    path, username, _ = door
    return client.post(
        path,
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_behind_the_proxy_two_clients_are_locked_apart(door, settings):
    settings.BEHIND_TLS_PROXY = True
    stranger, owner = Client(), Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        through_the_proxy(stranger, door, "wrong", SHARED)
    assert through_the_proxy(stranger, door, door[2], SHARED).status_code == 429

    response = through_the_proxy(owner, door, door[2], ELSEWHERE)

    assert response.status_code == 302 and signed_in(owner)


def test_behind_the_proxy_only_the_hop_it_appended_counts(door, settings):
    """A client that sends its own X-Forwarded-For cannot pass for another address."""
    settings.BEHIND_TLS_PROXY = True
    stranger = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        through_the_proxy(stranger, door, "wrong", f"192.0.2.{n}, {SHARED}")

    assert through_the_proxy(Client(), door, door[2], SHARED).status_code == 429
    assert through_the_proxy(Client(), door, door[2], f"{SHARED}, {ELSEWHERE}").status_code == 302


def test_without_the_proxy_setting_a_forged_x_forwarded_for_changes_nothing(door, settings):
    settings.BEHIND_TLS_PROXY = False
    stranger = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        through_the_proxy(stranger, door, "wrong", f"192.0.2.{n}")

    assert through_the_proxy(Client(), door, door[2], ELSEWHERE).status_code == 429
