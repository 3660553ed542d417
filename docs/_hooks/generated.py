"""MkDocs hook: the reference pages' generated parts, made from the code at build time.

A page holds a marker comment where a generated part goes:

- ``<!-- generated: settings-fields -->``: every field of :class:`trackd.Settings`, its kind,
  the environment variables that set it, and its documentation (the ``#:`` comments of
  ``sdk/python/trackd/_settings/model.py``);
- ``<!-- generated: cli -->``: every command's ``--help``, as a terminal shows it;
- ``<!-- generated: http-api -->``: every route of the dashboard's HTTP API with its
  parameters and responses, from ``daemon/trackd_daemon/web/openapi.yaml``.

Nothing here reaches the network, and the markers are plain comments: without the hook a page
still builds (and says less).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "daemon" / "trackd_daemon" / "web" / "openapi.yaml"

SETTINGS_MARKER = "<!-- generated: settings-fields -->"
HTTP_MARKER = "<!-- generated: http-api -->"
CLI_MARKER = "<!-- generated: cli -->"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_fields())
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_help())
    if HTTP_MARKER in markdown:
        markdown = markdown.replace(HTTP_MARKER, http_api())
    return markdown


# -- settings -----------------------------------------------------------------------------------

_FIELD = re.compile(r"^    (\w+): .+ = ")
_SECTION = re.compile(r"^    # -- (.+?) -+$")


def _field_docs(source: str) -> tuple[dict[str, str], dict[str, str]]:
    """Each field's ``#:`` documentation and the section (``# -- name ---``) it is in."""
    docs: dict[str, str] = {}
    sections: dict[str, str] = {}
    comment: list[str] = []
    section = ""
    for line in source.splitlines():
        stripped = line.strip()
        if (m := _SECTION.match(line)) is not None:
            section = m.group(1)
            comment = []
        elif stripped.startswith("#:"):
            comment.append(stripped[2:].strip())
        elif (m := _FIELD.match(line)) is not None:
            docs[m.group(1)] = " ".join(comment)
            sections[m.group(1)] = section
            comment = []
        else:
            comment = []
    return docs, sections


def _rst_to_md(text: str) -> str:
    text = re.sub(r":(?:class|meth|func|mod|attr|data|exc):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`").replace("|", "\\|")


def settings_fields() -> str:
    # Found through the public class, wherever its module lives in the package.
    from trackd import Settings

    model = sys.modules[Settings.__module__]
    rules = sys.modules[model.validate.__module__]  # the module of each field's kind
    env_names, kind_of = rules.ENV_NAMES, rules.kind_of
    docs, sections = _field_docs(inspect.getsource(model))
    out: list[str] = []
    current = None
    for field in dataclasses.fields(Settings):
        name = field.name
        section = sections.get(name, "")
        if section != current:
            current = section
            out += ["", f"### {section.capitalize() or 'Other fields'}", "",
                    "| field | kind | environment | what it does |", "|---|---|---|---|"]
        suffixes = [env_names.get(name, name.upper())]
        if name.startswith("x_"):
            suffixes.insert(0, "_" + name[2:].upper())
        env = "<br>".join(f"`TRACKD_{s}`, `WANDB_{s}`" for s in suffixes)
        doc = _rst_to_md(docs.get(name, "")) or "As W&B's field of this name."
        out.append(f"| `{name}` | {kind_of(name)} | {env} | {doc} |")
    return "\n".join(out) + "\n"


# -- command line ------------------------------------------------------------------------------


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = (),
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the command tree with its command path, depth first."""
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*path, name))
    return found


def cli_help() -> str:
    from trackd_daemon.cli import build_parser as daemon_parser

    # The console script named in pyproject.toml, wherever its module lives.
    with open(ROOT / "pyproject.toml", "rb") as f:
        target = tomllib.load(f)["project"]["scripts"]["trackd"]
    module = importlib.import_module(target.split(":", 1)[0])
    os.environ["COLUMNS"] = "88"  # argparse wraps to this width
    found = []
    for path, parser in _commands(module.build_parser()):
        # "daemon run" is only a name there: the daemon parses its own arguments.
        found.append((path, daemon_parser() if path == ("daemon", "run") else parser))
    out = []
    for path, parser in found:
        title = " ".join(("trackd", *path))
        out += [f"## {title}", "", "```text", parser.format_help().rstrip(), "```", ""]
    return "\n".join(out)


# -- HTTP API ----------------------------------------------------------------------------------


def _ref(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node_path = node["$ref"].lstrip("#/").split("/")
        node = spec
        for part in node_path:
            node = node[part]
    return node


def _schema_name(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type", "")
    if kind == "array":
        return f"array of {_schema_name(schema.get('items')) or 'values'}"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    return str(kind)


def _cell(text: Any) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def http_api() -> str:
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    base = spec["servers"][0]["url"].split("/api/", 1)[1]
    out = [spec["info"].get("description", "").strip(), ""]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            out += [f"### `{method.upper()} /api/{base}{path}`", "",
                    _cell(op.get("summary")), ""]
            if op.get("description"):
                out += [op["description"].strip(), ""]
            params = [_ref(spec, p) for p in op.get("parameters", [])]
            if params:
                out += ["| parameter | in | type | description |", "|---|---|---|---|"]
                out += [f"| `{p['name']}` | {p['in']} | {_schema_name(p.get('schema'))} | "
                        f"{_cell(p.get('description'))} |" for p in params]
                out.append("")
            body = _ref(spec, op.get("requestBody"))
            if isinstance(body, dict):
                kinds = ", ".join(f"`{k}`" for k in body.get("content", {}))
                out += [f"Request body ({kinds}): {_cell(body.get('description'))}", ""]
            responses = op.get("responses", {})
            if responses:
                out += ["| status | response |", "|---|---|"]
                for status, response in responses.items():
                    response = _ref(spec, response)
                    out.append(f"| {status} | {_cell(response.get('description'))} |")
                out.append("")
    schemas = spec.get("components", {}).get("schemas", {})
    if schemas:
        out += ["## Schemas", ""]
        for name, schema in schemas.items():
            out += [f"### {name}", ""]
            if schema.get("description"):
                out += [_cell(schema["description"]), ""]
            props = schema.get("properties") or {}
            if props:
                out += ["| property | type | description |", "|---|---|---|"]
                out += [f"| `{p}` | {_schema_name(s)} | {_cell(_ref(spec, s).get('description'))} |"
                        for p, s in props.items()]
                out.append("")
    return "\n".join(out)
