"""The ``placekit`` command: a parser assembled from every command module, and the error handling.

Exit status: 0 success; 1 ``--strict`` refused a loader warning; 2 bad input (a clear
``placekit: error:`` line on stderr says what, where and how to fix it); 3 an internal
error (a bug: the message says how to report it); 130 interrupted (Ctrl-C); 141 the
reader of the output went away (``placekit ... | head``), which ends quietly.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import traceback
import warnings

from placekit import __version__
from placekit.cli import app, design, england, estates, flows, health, hospitals, model, places, plans, scenarios
from placekit.errors import PlacekitError, StrictWarningError

__all__ = ["main", "build_parser", "check_numbers", "COMMAND_MODULES", "EXIT_STRICT", "EXIT_BAD_INPUT", "EXIT_INTERNAL"]

#: The modules whose ``register`` adds sub-commands, in help order.
COMMAND_MODULES = (places, england, health, flows, design, hospitals, estates, model, scenarios, plans, app)

EXIT_STRICT = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
_EXIT_INTERRUPTED = 130
_EXIT_BROKEN_PIPE = 141

#: Numeric options every command checks after parsing: (name, option, smallest allowed, whole number).
_NUMBERS = (
    ("threshold", "--threshold", 0.0, False),
    ("time_limit", "--time-limit", 0.0, False),
    ("p", "-p", 1, True),
    ("top", "--top", 1, True),
    ("port", "--port", 1, True),
    ("neighbourhoods", "--neighbourhoods", 1, True),
    ("localities", "--localities", 1, True),
    ("plans", "--plans", 1, True),
    ("workers", "--workers", 1, True),
    ("min_capacity", "--min-capacity", 0.0, False),
    ("capacity_factor", "--capacity-factor", 0.0, False),
    ("patients_per_m2", "--patients-per-m2", 0.0, False),
    ("patients_per_room", "--patients-per-room", 0.0, False),
    ("cutoff", "--cutoff", 0.0, False),
    ("folds", "--folds", 0, True),
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``placekit`` command."""
    p = argparse.ArgumentParser(prog="placekit", description="Plan neighbourhood health and care by place.")
    p.add_argument("--version", action="version", version=f"placekit {__version__}")
    p.add_argument("--data", help="data root (default: $PLACEKIT_DATA; the demo place when neither is set)")
    p.add_argument("--place", help="an English local authority's code or name, built from the national files in the data root "
                   "(e.g. E08000035 or Leeds; see `placekit places`), or a place manifest .toml (default: the shipped Manchester manifest)")
    p.add_argument("--strict", action="store_true", help="treat the loader's warnings as errors (exit status 1)")
    p.add_argument("--allow-data-loss", action="store_true", dest="allow_data_loss",
                   help="accept inputs that would drop practices or patients or move residents outside the city; "
                   "they are then listed as warnings (default: refuse them)")  # fmt: skip
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return p


def check_numbers(args: argparse.Namespace) -> str | None:
    """Return a message for the first numeric option that is not finite or below its minimum, else None."""
    for name, option, low, whole in _NUMBERS:
        value = getattr(args, name, None)
        if value is None or isinstance(value, bool):
            continue
        if not math.isfinite(float(value)) or value < low or (not whole and value <= low):
            bound = f"at least {low}" if whole else f"a finite number above {low:g}"
            return f"argument {option}: {value!r} is not allowed; give {bound} (e.g. {option} 15)."
    return None


def _quiet_broken_pipe() -> int:
    """Stop writing to a closed pipe without a second error when Python flushes stdout at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout replaced by something without a file descriptor (tests)
        pass
    return _EXIT_BROKEN_PIPE


def main(argv: list[str] | None = None) -> int:
    """Run the ``placekit`` command; return its exit status (2 on bad input, see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = check_numbers(args)
    if problem:
        parser.error(problem)  # exits with status 2 and the usage line
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            status = args.func(args)
            sys.stdout.flush()  # a closed pipe shows here, not as a message at interpreter exit
            return status
    except StrictWarningError as exc:
        print(f"placekit: error: {exc}", file=sys.stderr)
        return EXIT_STRICT
    except PlacekitError as exc:
        print(f"placekit: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        print("placekit: interrupted", file=sys.stderr)
        return _EXIT_INTERRUPTED
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"placekit: error:{where}: {exc.strerror or exc}. Check the path and its permissions.", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # a bug, not bad input: say so in one line, traceback on request
        if os.environ.get("PLACEKIT_DEBUG"):
            traceback.print_exc()
        print(
            f"placekit: internal error: {type(exc).__name__}: {exc}. This is a bug in placekit; please report it with the "
            "command you ran (set PLACEKIT_DEBUG=1 to print the traceback).",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
