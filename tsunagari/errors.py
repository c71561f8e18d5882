"""Domain errors; each carries a Japanese message that the app and CLI show as is."""


class TsunagariError(Exception):
    """Base class: `str(error)` is a Japanese message for the user."""


class InputError(TsunagariError):
    """The user's input (question, file) cannot be used."""


class IndexMissingError(TsunagariError):
    """No index has been built yet."""


class IndexDamagedError(TsunagariError):
    """The index on disk is incomplete or unreadable (e.g. a partial copy); ingest rebuilds it."""


class IndexBusyError(TsunagariError):
    """Another refresh of the index is running."""


class ConfigError(TsunagariError):
    """The configuration (settings, embedder, Chroma server) cannot be used."""


class UntrustedStoreError(TsunagariError):
    """The store published on the Chroma server is not signed with this machine's key (forged,
    unsigned or signed with another key); it is not used and nothing local is changed."""
