"""No secret is committed: no device token, no private key, no runtime files."""

import re
import subprocess

import pytest

from devtools.stack import BASE_DIR

SECRETS = [
    re.compile(rb"ced_[A-Za-z0-9_-]{40,}"),  # a device token (devices/tokens.py)
    re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(rb"DJANGO_SECRET_KEY\s*=\s*['\"]?[A-Za-z0-9!@#$%^&*()_+=-]{20,}"),
]


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=BASE_DIR, capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in out.decode().split("\0") if name]


def test_no_secret_is_tracked():
    found = []
    for name in tracked_files():
        path = BASE_DIR / name
        if not path.is_file() or path.suffix in {".png"}:
            continue
        content = path.read_bytes()
        found += [f"{name}: {p.pattern!r}" for p in SECRETS if p.search(content)]
    assert found == []


def test_runtime_files_are_not_tracked():
    assert [name for name in tracked_files() if name.startswith(("var/", ".venv/"))] == []


def requirement_names(path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[=<>~!; ]", line)[0].lower().replace("_", "-"))
    return names


def imported_distributions(files) -> dict[str, str]:
    """Distribution name -> a file importing it, for every third-party top-level import."""
    import ast
    import sys
    from importlib.metadata import packages_distributions

    own = {path.name for path in BASE_DIR.iterdir() if path.is_dir()}
    own |= {path.stem for path in BASE_DIR.glob("*.py")}
    own |= {path.stem for path in (BASE_DIR / "devtools" / "clockshift").glob("*.py")}
    providers = packages_distributions()
    found = {}
    for name in files:
        tree = ast.parse((BASE_DIR / name).read_text(), name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in own or top == "__future__":
                    continue
                for dist in providers.get(top, [top]):
                    found.setdefault(dist.lower().replace("_", "-"), name)
    return found


def test_every_package_the_server_imports_is_in_requirements_txt():
    server = [
        name
        for name in tracked_files()
        if name.endswith(".py")
        and "/tests/" not in name
        and not name.startswith(("bench/", "faults/", "docs/", "conftest"))
        and name not in {"devtools/testing.py", "devtools/chromium.py"}
        and "clockshift" not in name
    ]
    declared = requirement_names(BASE_DIR / "requirements.txt")
    missing = {
        dist: name for dist, name in imported_distributions(server).items() if dist not in declared
    }
    # Installed with the packages named (channels-redis brings msgpack, Django asgiref, ...).
    indirect = {"asgiref", "msgpack", "twisted", "autobahn", "kombu", "psycopg-binary"}
    assert {d: n for d, n in missing.items() if d not in indirect} == {}


def test_every_package_anything_imports_is_in_a_requirements_file():
    declared = requirement_names(BASE_DIR / "requirements.txt") | requirement_names(
        BASE_DIR / "requirements-dev.txt"
    )
    files = [name for name in tracked_files() if name.endswith(".py")]
    missing = {
        dist: name for dist, name in imported_distributions(files).items() if dist not in declared
    }
    indirect = {"asgiref", "msgpack", "twisted", "autobahn", "kombu", "psycopg-binary", "pluggy"}
    assert {d: n for d, n in missing.items() if d not in indirect} == {}
