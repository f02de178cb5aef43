"""Exceptions raised by the host capabilities, and the compile-time guard."""


class HostError(Exception):
    """A host call failed; the message is the host's (e.g. a denial)."""


class HttpError(HostError):
    """http.fetch failed: denied by permissions, bad URL, network error or
    a limit. A response with status 4xx/5xx is not an error."""


class KvError(HostError):
    """kv.put / kv.delete failed: denied, quota, or a backend error."""


# Set by the wrapper once the node's module has been imported: the host is
# there only while `execute` runs, not while the component is being built.
_host_ready = False


def require_host(what):
    if not _host_ready:
        raise RuntimeError(
            f"{what} can only be called inside execute(), "
            "not while the module is imported at compile time")
