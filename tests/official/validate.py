#!/usr/bin/env python3.11
"""Check HTTP exchanges and fixture bodies against a provider's official OpenAPI document.

Three modes (see README.md beside this file):

  exchanges  JSON-lines of recorded exchanges (request and response) -> validate both
  fixture    response body files against one documented operation ("METHOD /path")
  fixtures   a JSON-lines manifest mapping each fixture file to its operation

The official document is the provider's own file (never edited). It is validated
with openapi-core (a maintained OpenAPI validator, pinned in requirements.txt),
through two in-memory adjustments, both reported:

* overlays (overlays.yaml beside this file): documented facts the official file
  leaves out or gets wrong (HubSpot's Bearer auth, Pipedrive's error responses and
  null values...), each with its reason and source. An exchange that needs one to
  pass is printed `OK*` with the official document's own complaint.
* security requirements that only name oauth2/openIdConnect schemes are dropped
  (openapi-core cannot check them and would accept any request through them).

Besides openapi-core's checks, requests get two closed-world checks it does not do:
a query parameter the operation does not declare, and a body key that no schema
property names (where the schema leaves `additionalProperties` open), are errors.

Exit status: 0 when nothing failed, 1 when an exchange or fixture disagrees, 2 for
bad input (unreadable file, unknown operation, no document for a URL).
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qsl, urlsplit

import yaml

try:  # openapi-core is pinned in requirements.txt
    from openapi_core import OpenAPI
    from openapi_core.testing import MockRequest, MockResponse
except ImportError:  # pragma: no cover - reported to the user
    sys.stderr.write(
        "validate.py needs openapi-core: pip install -r tests/official/requirements.txt\n"
    )
    sys.exit(2)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
UNCHECKABLE_SCHEMES = ("oauth2", "openIdConnect")

# openapi-core warns once per request about oauth2 schemes we already removed.
warnings.filterwarnings("ignore", message="Unsupported scheme type")


class InputError(Exception):
    """Bad input: exit 2."""


# --------------------------------------------------------------------------- documents


def default_reference_roots() -> list[Path]:
    roots = []
    env = os.environ.get("OFFICIAL_REFERENCE_ROOT")
    if env:
        roots.extend(Path(p) for p in env.split(os.pathsep) if p)
    roots.append(REPO.parent / "shared" / "reference" / "providers")
    roots.append(Path("/work/shared/reference/providers"))
    return roots


def load_raw(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


def resolve_pointer(doc: dict, ref: str) -> Any:
    if not ref.startswith("#/"):
        raise InputError(f"only local $ref are supported, got {ref}")
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def deref(doc: dict, node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        node = resolve_pointer(doc, node["$ref"])
        seen += 1
        if seen > 50:
            raise InputError("reference cycle")
    return node


def template_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", template)
    rx = "".join("([^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile("^" + rx + "$")


@dataclass
class Overlay:
    id: str
    documents: list[str]
    reason: str
    source: str
    patches: list[dict]


def load_overlays(path: Path | None) -> list[Overlay]:
    if path is None or not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    overlays = []
    for entry in data:
        overlays.append(
            Overlay(
                id=entry["id"],
                documents=entry["documents"],
                reason=" ".join(str(entry.get("reason", "")).split()),
                source=" ".join(str(entry.get("source", "")).split()),
                patches=entry.get("patches", []),
            )
        )
    return overlays


@dataclass
class Document:
    name: str  # as given (relative to a reference root, or a path)
    path: Path
    raw: dict
    checked: dict  # raw + overlays + security normalisation
    overlays: list[Overlay]
    servers: list[str]
    _apis: dict = field(default_factory=dict)

    def api(self, which: str) -> OpenAPI:
        """`checked` (overlays applied), `raw` (the official document), or
        `nosecurity` (checked without security, to report the other request errors
        that openapi-core stops at after a failed security check)."""
        if which not in self._apis:
            if which == "checked":
                spec = copy.deepcopy(self.checked)
            elif which == "raw":
                spec = copy.deepcopy(self.raw)
            else:
                spec = copy.deepcopy(self.checked)
                spec.pop("security", None)
                for item in spec.get("paths", {}).values():
                    for method in METHODS:
                        if method in item:
                            item[method]["security"] = []
            self._apis[which] = OpenAPI.from_dict(spec)
        return self._apis[which]

    # -- operations
    def operations(self) -> Iterable[tuple[str, str, dict]]:
        for path, item in self.checked.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    yield path, method, item[method]

    def find_operation(self, method: str, path: str) -> tuple[str, dict] | None:
        """The template and operation serving `method path` (path without server prefix)."""
        method = method.lower()
        best = None
        for template, m, op in self.operations():
            if m != method:
                continue
            if template_regex(template).match(path):
                literal = len(re.sub(r"\{[^}]+\}", "", template))
                if best is None or literal > best[0]:
                    best = (literal, template, op)
        return (best[1], best[2]) if best else None

    def operation(self, template: str, method: str) -> dict:
        item = self.checked.get("paths", {}).get(template)
        if not item or method.lower() not in item:
            raise InputError(f"{self.name}: no operation {method.upper()} {template}")
        return item[method.lower()]

    def parameters(self, template: str, method: str) -> list[dict]:
        item = self.checked["paths"][template]
        params = {}
        for p in item.get("parameters", []) + item[method.lower()].get("parameters", []):
            p = deref(self.checked, p)
            params[(p["name"], p["in"])] = p
        return list(params.values())

    def strip_server(self, url: str) -> tuple[str, str] | None:
        """(server url, path below it) when `url` is under one of the servers."""
        base = url.split("?", 1)[0]
        for server in sorted(self.servers, key=len, reverse=True):
            s = server.rstrip("/")
            if base == s or base.startswith(s + "/"):
                return s, base[len(s):] or "/"
        return None


class Documents:
    def __init__(self, roots: list[Path], overlays: list[Overlay]):
        self.roots = roots
        self.overlays = overlays
        self.cache: dict[str, Document] = {}

    def locate(self, name: str) -> Path | None:
        p = Path(name)
        if p.is_absolute() or p.exists():
            return p if p.exists() else None
        for root in self.roots:
            if (root / name).exists():
                return root / name
        return None

    def get(self, name: str) -> Document:
        if name in self.cache:
            return self.cache[name]
        path = self.locate(name)
        if path is None:
            raise FileNotFoundError(name)
        raw = load_raw(path)
        json_for_wildcard_media(raw)
        rel = self.relative_name(name, path)
        applied = [o for o in self.overlays if any(fnmatch.fnmatch(rel, g) for g in o.documents)]
        checked = copy.deepcopy(raw)
        for overlay in applied:
            for patch in overlay.patches:
                apply_patch(checked, patch, overlay.id)
        drop_uncheckable_security(checked)
        servers = [s["url"] for s in checked.get("servers", []) if "url" in s]
        doc = Document(name=rel, path=path, raw=raw, checked=checked, overlays=applied, servers=servers)
        self.cache[name] = doc
        return doc

    def relative_name(self, name: str, path: Path) -> str:
        for root in self.roots:
            try:
                return str(path.resolve().relative_to(root.resolve()))
            except ValueError:
                continue
        return name


def json_for_wildcard_media(doc: dict) -> None:
    """Work around two limits of openapi-core (not disagreements with the document).

    * HubSpot documents its error responses as `*/*`. openapi-core matches a JSON
      answer to `*/*` but then validates the undecoded bytes, so every JSON error
      would fail: the same schema is added under `application/json` (in memory).
    * An empty `content: {}` (HubSpot's 204 answers) is dropped: it means no body,
      but openapi-core would report the missing body.
    """

    def fix(response: dict) -> None:
        content = response.get("content")
        if content == {}:
            # `content: {}` (HubSpot's 204s) means "no body"; openapi-core would
            # demand one.
            del response["content"]
            return
        content = content or {}
        if "*/*" in content and "application/json" not in content:
            content["application/json"] = copy.deepcopy(content["*/*"])

    for response in doc.get("components", {}).get("responses", {}).values():
        if isinstance(response, dict):
            fix(response)
    for item in doc.get("paths", {}).values():
        for method in METHODS:
            for response in item.get(method, {}).get("responses", {}).values() if method in item else []:
                if isinstance(response, dict) and "$ref" not in response:
                    fix(response)


def drop_uncheckable_security(doc: dict) -> None:
    schemes = doc.get("components", {}).get("securitySchemes", {})

    def checkable(requirement: dict) -> bool:
        return any(
            deref(doc, schemes.get(n, {})).get("type") not in UNCHECKABLE_SCHEMES for n in requirement
        ) or not requirement

    def fix(requirements: list | None) -> list | None:
        if requirements is None:
            return None
        kept = [r for r in requirements if checkable(r)]
        return kept if kept else requirements

    if "security" in doc:
        doc["security"] = fix(doc["security"])
    for item in doc.get("paths", {}).values():
        for method in METHODS:
            if method in item and "security" in item[method]:
                item[method]["security"] = fix(item[method]["security"])


def selected_operations(doc: dict, selectors: list[str] | str) -> list[dict]:
    if selectors == "*" or selectors == ["*"]:
        selectors = ["*"]
    ops = []
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method not in item:
                continue
            route = f"{method.upper()} {path}"
            if any(s == "*" or s == route or s == item[method].get("operationId") for s in selectors):
                ops.append(item[method])
    if not ops:
        raise InputError(f"overlay selects no operation: {selectors}")
    return ops


def walk_schema(doc: dict, schema: Any, visit, seen: set[int] | None = None) -> None:
    """Call visit(schema_dict) on every schema reachable from `schema` (through $ref)."""
    if seen is None:
        seen = set()
    if isinstance(schema, dict) and "$ref" in schema:
        schema = deref(doc, schema)
    if not isinstance(schema, dict) or id(schema) in seen:
        return
    seen.add(id(schema))
    visit(schema)
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(key, []):
            walk_schema(doc, sub, visit, seen)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            walk_schema(doc, schema[key], visit, seen)
    for sub in schema.get("properties", {}).values():
        walk_schema(doc, sub, visit, seen)


def apply_patch(doc: dict, patch: dict, overlay_id: str) -> None:
    op = patch["op"]
    if op == "security":
        schemes = doc.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[patch["name"]] = patch["scheme"]
        for operation in selected_operations(doc, patch.get("operations", "*")):
            operation["security"] = [{patch["name"]: []}]
        doc["security"] = [{patch["name"]: []}]
    elif op == "nullable":
        names = set(patch["properties"])

        def visit(schema: dict) -> None:
            for name, prop in schema.get("properties", {}).items():
                if name in names:
                    target = deref(doc, prop)
                    if isinstance(target, dict) and patch.get("values"):
                        values = target.get("additionalProperties")
                        if isinstance(values, dict):
                            deref(doc, values)["nullable"] = True
                    elif isinstance(target, dict):
                        target["nullable"] = True

        for operation in selected_operations(doc, patch["operations"]):
            if patch.get("in", "response") == "request":
                body = deref(doc, operation.get("requestBody", {}))
                for media in body.get("content", {}).values():
                    walk_schema(doc, media.get("schema"), visit)
            else:
                for status, response in operation.get("responses", {}).items():
                    if str(status) in [str(s) for s in patch.get("statuses", [status])]:
                        for media in deref(doc, response).get("content", {}).values():
                            walk_schema(doc, media.get("schema"), visit)
    elif op == "response":
        for operation in selected_operations(doc, patch["operations"]):
            responses = operation.setdefault("responses", {})
            status = str(patch["status"])
            if status in responses and not patch.get("replace", False):
                existing = copy.deepcopy(deref(doc, responses[status]))
                existing.setdefault("content", {}).update(copy.deepcopy(patch["response"].get("content", {})))
                responses[status] = existing
            else:
                responses[status] = copy.deepcopy(patch["response"])
    else:
        raise InputError(f"overlay {overlay_id}: unknown patch op {op!r}")


# --------------------------------------------------------------------------- checks


def describe(err: BaseException) -> list[str]:
    """Readable lines for an openapi-core error, with the JSON path of each schema error."""
    lines = []
    node: BaseException | None = err
    depth = 0
    while node is not None and depth < 10:
        schema_errors = getattr(node, "schema_errors", None)
        if schema_errors:
            seen_paths = set()
            for se in schema_errors:
                path = "/".join(str(p) for p in getattr(se, "absolute_path", [])) or "<root>"
                if path in seen_paths:
                    continue
                seen_paths.add(path)
                message = getattr(se, "message", str(se))
                if len(message) > 240:
                    message = message[:237] + "..."
                lines.append(f"{type(err).__name__} at {path}: {message}")
            return lines
        node = node.__cause__ or node.__context__
        depth += 1
    text = str(err) or type(err).__name__
    return [f"{type(err).__name__}: {text[:300]}"]


def closed_world_query(doc: Document, template: str, method: str, query: list[tuple[str, str]]) -> list[str]:
    declared = {p["name"] for p in doc.parameters(template, method) if p["in"] == "query"}
    return [f"query parameter {name!r} is not declared by the operation" for name in dict(query) if name not in declared]


def closed_world_body(doc: Document, schema: Any, value: Any, path: str = "") -> list[str]:
    """Keys the schema does not name where it leaves additionalProperties open."""
    schema = deref(doc.checked, schema)
    if not isinstance(schema, dict):
        return []
    if isinstance(value, list):
        items = schema.get("items")
        out = []
        for i, v in enumerate(value):
            out += closed_world_body(doc, items, v, f"{path}/{i}")
        return out
    if not isinstance(value, dict):
        return []
    props: dict = {}
    open_map = None
    for part in [schema] + [deref(doc.checked, s) for s in schema.get("allOf", [])]:
        props.update(part.get("properties", {}))
        if "additionalProperties" in part:
            open_map = part["additionalProperties"]
    if any(k in schema for k in ("oneOf", "anyOf")):
        return []
    out = []
    for key, v in value.items():
        if key in props:
            out += closed_world_body(doc, props[key], v, f"{path}/{key}")
        elif open_map is None and props:
            out.append(f"body key {path}/{key} is not in the documented schema")
        elif isinstance(open_map, dict):
            out += closed_world_body(doc, open_map, v, f"{path}/{key}")
    return out


def header_value(headers: dict, name: str) -> str | None:
    for k, v in (headers or {}).items():
        if k.lower() == name.lower():
            return v
    return None


def encode_body(body: Any, content_type: str | None) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str) and not (content_type or "").split(";")[0].strip().endswith("json"):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


@dataclass
class Outcome:
    status: str  # OK, OK*, FAIL, SKIP
    label: str
    details: list[str] = field(default_factory=list)


def check_exchange(doc: Document, ex: dict, label: str, path_aliases: list[tuple[str, str]]) -> Outcome:
    url = ex["url"]
    if ex.get("base_url"):
        base = ex["base_url"].rstrip("/")
        if not url.startswith(base):
            raise InputError(f"{label}: url {url} is not under base_url {base}")
        url = doc.servers[0].rstrip("/") + url[len(base):]
    for old, new in path_aliases:
        url = url.replace(old, new, 1)
    split = urlsplit(url)
    under = doc.strip_server(url)
    if under is None:
        raise InputError(f"{label}: {url} is under none of {doc.name}'s servers {doc.servers}")
    server, rel_path = under
    method = ex["method"].upper()
    found = doc.find_operation(method, rel_path)
    if found is None:
        return Outcome("FAIL", label, [f"the document has no operation {method} {rel_path}"])
    template, operation = found
    label = f"{label} {method} {template}"
    query = parse_qsl(split.query, keep_blank_values=True)
    headers = dict(ex.get("headers") or {})
    req_ct = header_value(headers, "Content-Type") or ("application/json" if ex.get("body") is not None else None)
    request = MockRequest(
        host_url=f"{split.scheme}://{split.netloc}",
        method=method.lower(),
        path=split.path,
        args=query,
        headers=headers,
        data=encode_body(ex.get("body"), req_ct),
        content_type=req_ct or "application/json",
    )
    response = None
    if ex.get("status") is not None:
        resp_headers = dict(ex.get("response_headers") or {})
        resp_ct = header_value(resp_headers, "Content-Type")
        body = ex.get("response_body")
        if resp_ct is None:
            resp_ct = "application/json" if body is not None and not isinstance(body, str) else ("text/plain" if body else None)
        response = MockResponse(
            data=encode_body(body, resp_ct),
            status_code=int(ex["status"]),
            headers=resp_headers,
            content_type=resp_ct or "application/json",
        )

    def run(which: str, request_side: bool) -> list[str]:
        api = doc.api(which)
        errors: list[str] = []
        if request_side:
            security_failed = False
            for err in api.iter_request_errors(request):
                security_failed |= "Security" in type(err).__name__
                errors += ["request: " + e for e in describe(err)]
            if security_failed and which == "checked":
                for err in doc.api("nosecurity").iter_request_errors(request):
                    errors += ["request: " + e for e in describe(err)]
        if response is not None:
            for err in api.iter_response_errors(request, response):
                errors += ["response: " + e for e in describe(err)]
        return errors

    request_side = ex.get("check_request", True)
    errors = run("checked", request_side)
    if request_side:
        errors += ["request: " + e for e in closed_world_query(doc, template, method, query)]
        body_schema = None
        rb = deref(doc.checked, operation.get("requestBody", {}))
        media = rb.get("content", {}).get("application/json")
        if media and ex.get("body") is not None and not isinstance(ex.get("body"), str):
            errors += ["request: " + e for e in closed_world_body(doc, media.get("schema"), ex["body"])]
    if errors:
        return Outcome("FAIL", label, errors)
    if doc.overlays:
        raw_errors = run("raw", request_side)
        if raw_errors:
            ids = ", ".join(o.id for o in doc.overlays)
            return Outcome("OK*", label, [f"accepted through overlays ({ids}); the official document alone says:"] + raw_errors[:3])
    return Outcome("OK", label)


def fixture_exchange(doc: Document, operation_spec: str, status: int, body: Any, content_type: str | None,
                     response_headers: dict | None, path_aliases: list[tuple[str, str]]) -> dict:
    try:
        method, template = operation_spec.split(" ", 1)
    except ValueError:
        raise InputError(f"operation must be 'METHOD /path', got {operation_spec!r}")
    for old, new in path_aliases:
        template = template.replace(old, new, 1)
    doc.operation(template, method)  # raises when absent
    concrete = re.sub(r"\{[^}]+\}", "1", template)
    headers = dict(response_headers or {})
    if content_type and not header_value(headers, "Content-Type"):
        headers["Content-Type"] = content_type
    return {
        "method": method.upper(),
        "url": doc.servers[0].rstrip("/") + concrete,
        "headers": {},
        "body": None,
        "status": status,
        "response_headers": headers,
        "response_body": body,
        "check_request": False,
    }


def read_fixture(path: Path) -> tuple[Any, str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text), "application/json"
    if path.suffix in (".html", ".htm"):
        return text, "text/html"
    return text, "text/plain"


# --------------------------------------------------------------------------- modes


def print_outcome(o: Outcome, verbose: bool) -> None:
    print(f"{o.status:<5} {o.label}")
    if o.status in ("FAIL", "SKIP") or verbose:
        for line in o.details:
            print(f"      {line}")


def summarize(outcomes: list[Outcome], skip_fails: bool) -> int:
    passed = sum(o.status in ("OK", "OK*") for o in outcomes)
    starred = sum(o.status == "OK*" for o in outcomes)
    failed = sum(o.status == "FAIL" for o in outcomes)
    skipped = sum(o.status == "SKIP" for o in outcomes)
    print(f"({starred} of the passes needed an overlay; see overlays.yaml)")
    print(f"official: {passed} passed, {failed} failed, {skipped} skipped")
    if failed or (skip_fails and skipped):
        return 1
    return 0


def parse_aliases(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for v in values or []:
        if "=" not in v:
            raise InputError(f"--path-alias wants FROM=TO, got {v!r}")
        a, b = v.split("=", 1)
        out.append((a, b))
    return out


def iter_jsonl(path: Path) -> Iterable[tuple[int, dict]]:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("//"):
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{n}: not JSON: {e}")


def parse_document_args(values: list[str]) -> list[tuple[str, str | None]]:
    """`NAME` or `NAME@/path/prefix`: a document, and optionally the paths (below
    its server) it is the one to use for."""
    out = []
    for value in values:
        name, _, prefix = value.partition("@")
        out.append((name, prefix or None))
    return out


def mode_exchanges(args, docs: Documents) -> int:
    aliases = parse_aliases(args.path_alias)
    # A scoped document (NAME@PREFIX) that is not available makes the lines under
    # its prefix SKIPs; an unscoped one must exist.
    scoped: list[tuple[str, str | None, Document | None]] = []
    for name, prefix in parse_document_args(args.document):
        try:
            scoped.append((name, prefix, docs.get(name)))
        except FileNotFoundError:
            if prefix is None:
                raise
            scoped.append((name, prefix, None))
    outcomes = []
    requests = responses = 0
    for n, ex in iter_jsonl(Path(args.records)):
        label = f"{Path(args.records).name}:{n}"
        if ex.get("recording_error"):
            o = Outcome("FAIL", f"{label} {ex.get('method', '?')} {ex.get('url', '?')}",
                        [f"recording: {ex['recording_error']}"])
            print_outcome(o, args.verbose)
            outcomes.append(o)
            continue
        if ex.get("document"):
            candidates = [(ex["document"], None, docs.get(ex["document"]))]
        else:
            candidates = scoped
        doc = fallback = None
        missing = None
        for name, prefix, d in candidates:
            server = d.servers[0] if d is not None else None
            if d is None:
                # An absent document: its prefix is matched against the path below
                # any server of the others (they share the API root).
                servers = [s for _, _, other in candidates if other is not None for s in other.servers]
            else:
                servers = d.servers
            url = ex["url"]
            if ex.get("base_url") and servers:
                url = servers[0].rstrip("/") + url[len(ex["base_url"].rstrip("/")):]
            # The aliases check_exchange applies decide the document too.
            for old, new in aliases:
                url = url.replace(old, new, 1)
            below = None
            for s in sorted(servers, key=len, reverse=True):
                base = url.split("?", 1)[0]
                if base == s.rstrip("/") or base.startswith(s.rstrip("/") + "/"):
                    below = base[len(s.rstrip("/")):] or "/"
                    break
            if below is None or (prefix is not None and not below.startswith(prefix)):
                continue
            if d is None:
                missing = missing or name
                continue
            # With a mock server's base_url every document "serves" the URL:
            # prefer the one that has the operation.
            if d.find_operation(ex["method"], below) is not None:
                doc = d
                break
            fallback = fallback or d
        if doc is None and missing is None:
            doc = fallback
        if doc is None and missing is not None:
            o = Outcome("SKIP", f"{label} {ex.get('method', '?').upper()} {ex['url']} [{missing}]",
                        [f"official document {missing} not found under {', '.join(map(str, docs.roots))}"])
            print_outcome(o, args.verbose)
            outcomes.append(o)
            continue
        if doc is None:
            raise InputError(f"{label}: no given document serves {ex['url']}")
        o = check_exchange(doc, ex, label, aliases)
        requests += ex.get("check_request", True) is not False
        responses += ex.get("status") is not None
        print_outcome(o, args.verbose)
        outcomes.append(o)
    print(f"checked {requests} requests and {responses} responses against the official documents")
    return summarize(outcomes, args.no_skip)


def mode_fixture(args, docs: Documents) -> int:
    aliases = parse_aliases(args.path_alias)
    doc = docs.get(args.document)
    outcomes = []
    for f in args.files:
        body, ct = read_fixture(Path(f))
        ex = fixture_exchange(doc, args.operation, args.status, body, args.content_type or ct, None, aliases)
        o = check_exchange(doc, ex, f"{f} ({doc.name})", path_aliases=[])
        print_outcome(o, args.verbose)
        outcomes.append(o)
    return summarize(outcomes, args.no_skip)


def mode_fixtures(args, docs: Documents) -> int:
    aliases = parse_aliases(args.path_alias)
    overrides = dict(v.split("=", 1) for v in (args.document_override or []))
    manifest = Path(args.manifest)
    outcomes = []
    for n, row in iter_jsonl(manifest):
        fixture = Path(row["fixture"])
        if not fixture.is_absolute():
            fixture = REPO / fixture
        name = overrides.get(row["document"], row["document"])
        label = f"{row['fixture']} [{name}]"
        try:
            doc = docs.get(name)
        except FileNotFoundError:
            o = Outcome("SKIP", label, [f"official document {name} not found under {', '.join(map(str, docs.roots))}"])
            print_outcome(o, args.verbose)
            outcomes.append(o)
            continue
        body, ct = read_fixture(fixture)
        ex = fixture_exchange(doc, row["operation"], int(row.get("status", 200)), body,
                              row.get("content_type", ct), row.get("response_headers"), aliases)
        o = check_exchange(doc, ex, label, path_aliases=[])
        print_outcome(o, args.verbose)
        outcomes.append(o)
    return summarize(outcomes, args.no_skip)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-root", action="append", default=[],
                        help="directory the document names are relative to (repeatable; "
                             "default: $OFFICIAL_REFERENCE_ROOT, ../shared/reference/providers, "
                             "/work/shared/reference/providers)")
    parser.add_argument("--overlays", default=str(HERE / "overlays.yaml"),
                        help="overlay file (default: overlays.yaml beside this script); 'none' for none")
    parser.add_argument("--path-alias", action="append", default=[], metavar="FROM=TO",
                        help="rewrite a path prefix before matching (e.g. /crm/v3/objects/deals=/crm/v3/objects/0-3)")
    parser.add_argument("--no-skip", action="store_true", help="count a missing document as a failure")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the details of OK* lines too")
    sub = parser.add_subparsers(dest="mode", required=True)

    p = sub.add_parser("exchanges", help="validate recorded request/response exchanges (JSON lines)")
    p.add_argument("--document", action="append", required=True, metavar="NAME[@PREFIX]",
                   help="official document (name under a reference root, or a path); repeatable. "
                        "With @PREFIX it serves only the paths below its server that start with "
                        "PREFIX, and when it is not available those lines are SKIPped")
    p.add_argument("records")

    p = sub.add_parser("fixture", help="validate response body files against one documented operation")
    p.add_argument("--document", required=True)
    p.add_argument("--operation", required=True, help="'METHOD /path' as written in the document")
    p.add_argument("--status", type=int, default=200)
    p.add_argument("--content-type", default=None, help="default: from the file extension")
    p.add_argument("files", nargs="+")

    p = sub.add_parser("fixtures", help="validate every fixture of a JSON-lines manifest")
    p.add_argument("--document-override", action="append", default=[], metavar="NAME=OTHER",
                   help="validate rows naming NAME against OTHER instead")
    p.add_argument("manifest", nargs="?", default=str(HERE / "fixtures.jsonl"))

    args = parser.parse_args(argv)
    roots = [Path(r) for r in args.reference_root] or default_reference_roots()
    overlays = [] if args.overlays == "none" else load_overlays(Path(args.overlays))
    docs = Documents(roots, overlays)
    try:
        return {"exchanges": mode_exchanges, "fixture": mode_fixture, "fixtures": mode_fixtures}[args.mode](args, docs)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"error: document or file not found: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
