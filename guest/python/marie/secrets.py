"""Read a secret: secrets.get("API_KEY") -> str, or None when the secret
does not exist or the node may not read it (allow_secrets and
secret_allowed_names)."""
from wit_world.imports import secrets as _secrets

from marie.errors import require_host


def get(name):
    require_host("marie.secrets.get")
    if not isinstance(name, str):
        raise TypeError(f"secret name must be a str, not {type(name).__name__}")
    return _secrets.get(name)
