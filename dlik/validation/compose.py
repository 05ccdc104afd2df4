"""dlik run's overrides checked and composed once, Hydra's errors reworded to one line (the
key, the value, the choices) instead of Hydra's message and its HYDRA_FULL_ERROR footer."""

from __future__ import annotations

import re
from collections import Counter

from .refusal import Refused, choices

PROG = "dlik run"
INFO_FLAGS = ("-h", "--help", "--hydra-help", "--info", "-i", "--cfg", "-c", "--resolve",
              "--package", "-p", "--shell-completion", "-sc", "--version")
MULTIRUN_FLAGS = ("-m", "--multirun")
OVERRIDE_SYNTAX = "write key=value, key=[a,b] or key='some text'"


def split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """Return (flags, overrides) of dlik run's argv (a flag starts with '-')."""
    flags = [a for a in argv if a.startswith("-") and not a.startswith("~")]
    return flags, [a for a in argv if a not in flags]


def parse_overrides(overrides: list[str], multirun: bool) -> list:
    """Return Hydra's parsed overrides; refuse a line that does not parse, a key given twice,
    or a sweep without --multirun."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    parsed = []
    for text in overrides:
        try:
            parsed.extend(parser.parse_overrides([text]))
        except OverrideParseException as exc:
            why = str(exc).splitlines()[0][:60]
            raise Refused(PROG, f"override {text[:50]!r} does not parse ({why}); "
                          f"{OVERRIDE_SYNTAX}") from None
    from ..commands.config import CONFIG_DIR

    # a config group picked twice (experiment=a experiment=b) is refused; a plain key given
    # twice keeps Hydra's rule (the last wins), which scripts and tests layer on purpose
    groups = {p.name for p in CONFIG_DIR.iterdir() if p.is_dir()}
    keys = Counter(o.key_or_group for o in parsed if not o.is_delete())
    for key, n in keys.items():
        if n > 1 and key in groups:
            values = [o.input_line.split("=", 1)[-1] for o in parsed if o.key_or_group == key]
            raise Refused(PROG, f"{key} given {n} times ({choices(values, 40)}): pass it once "
                          "(the last would win silently)")
    for o in parsed:
        if o.is_sweep_override() and not multirun:
            raise Refused(PROG, f"{o.input_line[:60]} is a sweep: add --multirun (-m) to sweep; "
                          "a list is key=[a,b], text is key='a,b'")
    return parsed


def _group_options(message: str) -> tuple[str, str, list[str]]:
    """Return (group, name, available options) of Hydra's 'Could not find' message."""
    found = re.search(r"Could not find '([^']*)/([^'/]*)'", message)
    group, name = (found.group(1), found.group(2)) if found else ("config", "?")
    opts = re.search(r"Available options in '[^']*':\n((?:\t.*\n?)*)", message)
    names = [line.strip() for line in opts.group(1).splitlines()] if opts else []
    return group, name, [n for n in names if n]


def reword(exc: Exception, overrides: list[str]) -> str:
    """Return the one-line message of a Hydra compose error."""
    from hydra.errors import MissingConfigException, OverrideParseException

    text = str(exc)
    if isinstance(exc, MissingConfigException):
        group, name, opts = _group_options(text)
        return f"{group}={name}: no such config; {group} must be one of {choices(opts, 100)}"
    if isinstance(exc, OverrideParseException):
        return f"an override does not parse ({text.splitlines()[0][:60]}); {OVERRIDE_SYNTAX}"
    found = re.search(r"Could not override '([^']*)'", text)
    if found:
        key = found.group(1)
        return (f"Could not override '{key}': no such key{_known_keys(key, overrides)} "
                f"(+{key}=V adds one)")
    found = re.search(r"An item is already at '([^']*)'", text)
    if found:
        key = found.group(1)
        return f"+{key}: {key} already exists; set it with {key}=VALUE (no +)"
    cause = exc.__cause__
    why = f"{type(cause).__name__}: {cause}" if cause is not None else text.splitlines()[0]
    return f"the config does not compose ({why})"


def _known_keys(key: str, overrides: list[str]) -> str:
    """Return '; keys under P: a, b' for the parent of key, composed without key's override."""
    parent = key.rsplit(".", 1)[0] if "." in key else ""
    rest = [o for o in overrides if o.lstrip("+~").split("=", 1)[0] != key]
    try:
        cfg = _compose(rest)
        from omegaconf import OmegaConf

        node = OmegaConf.select(cfg, parent) if parent else cfg
        names = [k for k in node.keys() if k != "hydra"] if hasattr(node, "keys") else []
    except Exception:  # listing the keys is a hint only
        return ""
    where = parent or "the top level"
    return f"; keys at {where}: {choices(names, 60)}" if names else ""


def _compose(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from ..commands.config import CONFIG_DIR, register_resolvers

    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def compose_config(overrides: list[str], prog: str = PROG):
    """Return dlik run's composed config of overrides; refuse (one line) when it does not
    compose."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        return _compose(overrides)
    except (HydraException, OmegaConfBaseException, ValueError, TypeError) as exc:
        raise Refused(prog, reword(exc, overrides)) from None


def precheck_run(argv: list[str]) -> bool:
    """Check dlik run's argv before Hydra runs it: overrides always; a single run's config
    composed and checked (check_run_config). Return True when the config was checked here
    (a multirun, or a Hydra info flag such as --help or --cfg, leaves it to the job)."""
    from .run_config import check_run_config

    flags, overrides = split_argv(argv)
    if any(f.split("=", 1)[0] not in MULTIRUN_FLAGS for f in flags):
        return False  # --help, --cfg, --config-name ...: Hydra's own business
    multirun = bool(flags)
    parse_overrides(overrides, multirun)
    if multirun:
        return False
    check_run_config(compose_config(overrides))
    return True
