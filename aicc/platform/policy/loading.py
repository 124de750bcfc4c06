"""Reading a policy file: YAML that refuses duplicate keys, every problem reported at once with
its path and line, and the shipped policies found by name (``find_policy("shandong-2026")``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from aicc.platform.policy.errors import PolicyError, join_path
from aicc.platform.policy.model import Policy, validate_policy_data
from aicc.platform.validation import POLICY_YAML_LIMIT

__all__ = ["PolicyNotFound", "default_policy_dir", "find_policy", "load_policy_file", "load_policy_text"]


# A policy is a few kilobytes; its text is refused beyond this many bytes (UTF-8) before parsing.
MAX_POLICY_BYTES = POLICY_YAML_LIMIT


class _NoAliasComposer(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases: a policy needs none, and a few hundred bytes of
    nested aliases expand to billions of nodes for whatever walks the document."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&, *) are not allowed in a policy", event.start_mark
            )
        return super().compose_node(parent, index)


class _UniqueKeyLoader(_NoAliasComposer):
    """Refuses duplicate mapping keys (PyYAML silently keeps the last), anchors and aliases."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_index(node: yaml.Node | None, path: str = "", out: dict[str, int] | None = None) -> dict[str, int]:
    """Map every path in the YAML document to its (1-based) line number."""
    out = {} if out is None else out
    if node is None:
        return out
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            p = join_path(path, str(k.value))
            out[p] = k.start_mark.line + 1
            _line_index(v, p, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            p = f"{path}[{i}]"
            out[p] = v.start_mark.line + 1
            _line_index(v, p, out)
    return out


def load_policy_text(text: str, *, source: str = "<text>") -> Policy:
    """Parse and validate policy YAML. Raises :class:`PolicyError` listing every problem."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_POLICY_BYTES:
        raise PolicyError(
            [("", f"the policy text is {size} bytes; at most {MAX_POLICY_BYTES} are accepted")], source=source
        )
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
        lines = _line_index(yaml.compose(text, Loader=_NoAliasComposer))  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        msg = f"{where}YAML syntax error: {problem}" + (f" ({context})" if context else "")
        raise PolicyError([("", msg)], source=source) from None
    return validate_policy_data(data, source=source, lines=lines)


def load_policy_file(path: str | Path) -> Policy:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([("", f"cannot read policy file: {exc.strerror or exc}")], source=str(p)) from None
    except UnicodeDecodeError:
        raise PolicyError([("", "policy file is not valid UTF-8")], source=str(p)) from None
    return load_policy_text(text, source=str(p))


def default_policy_dir() -> Path:
    """The shipped policies: ``policies/`` of the repository when running from a checkout (or an
    editable install), else ``aicc/policies`` inside the installed package (the wheel carries a
    copy, see ``setup.py``)."""
    from importlib import resources

    import aicc

    checkout = Path(aicc.__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "policies").is_dir():
        return checkout / "policies"
    return Path(str(resources.files("aicc").joinpath("policies")))


class PolicyNotFound(PolicyError):
    """No policy file of that name; ``available`` lists the names that exist."""

    def __init__(self, name: str, available: list[str], directory: Path) -> None:
        super().__init__(
            [("", f"no policy named {name!r} in {directory} (available: {', '.join(available) or 'none'})")],
            source=name,
        )
        self.name = name
        self.available = available


def find_policy(name: str, policy_dir: Path | None = None) -> Policy:
    """Load ``<name>.yaml`` from ``policy_dir`` (default: the ``policies/`` directory shipped
    next to the ``aicc`` package)."""
    if not re.fullmatch(r"[a-z0-9-]+", name):
        raise PolicyError([("", f"{name!r} is not a policy name ([a-z0-9-]+)")], source=name)
    directory = Path(policy_dir) if policy_dir is not None else default_policy_dir()
    path = directory / f"{name}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in directory.glob("*.yaml")) if directory.is_dir() else []
        raise PolicyNotFound(name, available, directory)
    return load_policy_file(path)
