"""Log records at a level: log.info("fetched %d rows" % n).

Records go to the execution's log (capped by max_log_bytes); print() also
works and is logged at info level from stdout.
"""
from wit_world.imports import console as _console

from marie.errors import require_host


def _log(level, msg):
    require_host("marie.log")
    _console.log(level, msg if isinstance(msg, str) else str(msg))


def debug(msg):
    _log(_console.LogLevel.DEBUG, msg)


def info(msg):
    _log(_console.LogLevel.INFO, msg)


def warn(msg):
    _log(_console.LogLevel.WARN, msg)


def error(msg):
    _log(_console.LogLevel.ERROR, msg)


warning = warn
