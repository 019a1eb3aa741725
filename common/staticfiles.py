"""Static files in production: hashed and compressed (WhiteNoise), source maps left alone."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's storage, without rewriting `sourceMappingURL` comments: a vendored script
    may name a map its package does not ship (decimal.js-light's names `doc/decimal.js.map`),
    and rewriting one to a hashed name it cannot find fails `collectstatic` as a whole."""

    patterns = tuple(
        (
            extension,
            tuple(
                pattern
                for pattern in rules
                if "sourceMappingURL" not in (pattern[0] if isinstance(pattern, tuple) else pattern)
            ),
        )
        for extension, rules in CompressedManifestStaticFilesStorage.patterns
    )
