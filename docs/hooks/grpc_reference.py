"""MkDocs hook: the gRPC reference page, generated from proto/ at build time.

protoc (grpc_tools, the pinned version `make proto` uses) compiles every .proto under proto/
into a descriptor set with source info, which keeps each comment beside the element it
documents; this hook renders services, messages and enums from it as Markdown and ships
the .proto files themselves beside the page."""

from __future__ import annotations

import importlib.resources
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto"
PAGE = "reference/grpc.md"

# Field numbers in descriptor.proto, the path components of SourceCodeInfo.Location.
FILE_MESSAGE, FILE_ENUM, FILE_SERVICE, FILE_SYNTAX = 4, 5, 6, 12
MESSAGE_FIELD, MESSAGE_NESTED, MESSAGE_ENUM, MESSAGE_ONEOF = 2, 3, 4, 8
SERVICE_METHOD, ENUM_VALUE = 2, 2


def descriptor_set(proto_dir: Path = PROTO_DIR) -> Any:
    """Compile the .proto files into a FileDescriptorSet that keeps the comments."""
    from google.protobuf import descriptor_pb2
    from grpc_tools import protoc

    files = sorted(proto_dir.rglob("*.proto"))
    if not files:
        raise PluginError(f"no .proto files under {proto_dir}")
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "descriptors.pb"
        status = protoc.main(
            [
                "grpc_tools.protoc",
                f"-I{proto_dir}",
                f"-I{well_known}",
                "--include_source_info",
                f"--descriptor_set_out={out}",
                *(str(f) for f in files),
            ]
        )
        if status != 0:
            raise PluginError(f"protoc failed on {', '.join(map(str, files))} (see stderr)")
        result = descriptor_pb2.FileDescriptorSet()
        result.ParseFromString(out.read_bytes())
    return result


class Comments:
    """The comments of one .proto file, by the descriptor path of what they document."""

    def __init__(self, file_proto: Any) -> None:
        self.leading: dict[tuple[int, ...], str] = {}
        self.detached: dict[tuple[int, ...], list[str]] = {}
        for location in file_proto.source_code_info.location:
            path = tuple(location.path)
            text = " ".join(
                part for part in (location.leading_comments, location.trailing_comments) if part
            )
            if text.strip():
                self.leading[path] = text
            if location.leading_detached_comments:
                self.detached[path] = list(location.leading_detached_comments)

    def of(self, *path: int) -> str:
        return clean(self.leading.get(path, ""))


def clean(comment: str) -> str:
    """A proto comment as Markdown: wrapped lines joined, "- " list items kept as a list."""
    blocks: list[list[str]] = []  # each block: a paragraph, or one list item
    for raw in comment.splitlines():
        line = raw.strip()
        if not line:
            blocks.append([])
        elif line.startswith("- ") or not blocks or not blocks[-1]:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    out: list[str] = []
    for block in filter(None, blocks):
        text = " ".join(block)
        # Python-Markdown wants a blank line before a list and between paragraphs.
        if out and not (text.startswith("- ") and out[-1].startswith("- ")):
            out.append("")
        out.append(text)
    return "\n".join(out)


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n\n", "<br>").replace("\n", " ").strip()


def anchor(full_name: str) -> str:
    return full_name.replace(".", "-").lower()


TYPE_NAMES = {
    1: "double",
    2: "float",
    3: "int64",
    4: "uint64",
    5: "int32",
    6: "fixed64",
    7: "fixed32",
    8: "bool",
    9: "string",
    12: "bytes",
    13: "uint32",
    15: "sfixed32",
    16: "sfixed64",
    17: "sint32",
    18: "sint64",
}
TYPE_MESSAGE, TYPE_ENUM = 11, 14
LABEL_REPEATED = 3


def render(fds: Any) -> str:
    defined: set[str] = set()
    for file_proto in fds.file:
        for message in file_proto.message_type:
            defined.add(f".{file_proto.package}.{message.name}")
        for enum in file_proto.enum_type:
            defined.add(f".{file_proto.package}.{enum.name}")

    def type_link(type_name: str) -> str:
        short = type_name.lstrip(".")
        if type_name in defined:
            return f"[{short.rsplit('.', 1)[-1]}](#{anchor(short)})"
        return f"`{short}`"

    def field_type(field: Any) -> str:
        if field.type in (TYPE_MESSAGE, TYPE_ENUM):
            text = type_link(field.type_name)
        else:
            text = f"`{TYPE_NAMES.get(field.type, field.type)}`"
        if field.label == LABEL_REPEATED:
            text = f"repeated {text}"
        elif field.proto3_optional:
            text = f"optional {text}"
        return text

    out = [
        "# gRPC API reference",
        "",
        "<!-- Generated at build time from proto/ (docs/hooks/grpc_reference.py). Do not edit. -->",
        "",
    ]
    for file_proto in fds.file:
        comments = Comments(file_proto)
        header = comments.detached.get((FILE_SYNTAX,), [])
        out += [
            f"Package `{file_proto.package}`, from "
            f"[`proto/{file_proto.name}`](proto/{file_proto.name}) "
            "(the file itself, as the server and the SDKs are generated from it). "
            "Besides these services the server runs gRPC's standard health checking "
            "(`grpc.health.v1.Health`) and reflection services.",
            "",
        ]
        for block in header:
            out += [clean(block), ""]

        out += ["## Services", ""]
        for s_index, service in enumerate(file_proto.service):
            full = f"{file_proto.package}.{service.name}"
            out += [f"### {service.name} {{#{anchor(full)}}}", ""]
            described = comments.of(FILE_SERVICE, s_index)
            if described:
                out += [described, ""]
            out += ["| method | request | response |", "| --- | --- | --- |"]
            for method in service.method:
                request = ("stream " if method.client_streaming else "") + type_link(
                    method.input_type
                )
                response = ("stream " if method.server_streaming else "") + type_link(
                    method.output_type
                )
                link = f"[`{method.name}`](#{anchor(full + '.' + method.name)})"
                out.append(f"| {link} | {request} | {response} |")
            out.append("")
            for m_index, method in enumerate(service.method):
                out += [
                    f"#### {service.name}.{method.name} {{#{anchor(full + '.' + method.name)}}}",
                    "",
                    f"`rpc {method.name}({'stream ' if method.client_streaming else ''}"
                    f"{method.input_type.rsplit('.', 1)[-1]}) returns "
                    f"({'stream ' if method.server_streaming else ''}"
                    f"{method.output_type.rsplit('.', 1)[-1]})`",
                    "",
                ]
                described = comments.of(FILE_SERVICE, s_index, SERVICE_METHOD, m_index)
                if described:
                    out += [described, ""]

        out += ["## Messages", ""]
        for index, message in enumerate(file_proto.message_type):
            out += render_message(
                message,
                f"{file_proto.package}.{message.name}",
                (FILE_MESSAGE, index),
                comments,
                field_type,
            )

        out += ["## Enums", ""]
        for index, enum in enumerate(file_proto.enum_type):
            full = f"{file_proto.package}.{enum.name}"
            out += render_enum(enum, full, (FILE_ENUM, index), comments)
    return "\n".join(out)


def render_message(message, full, path, comments, field_type) -> list[str]:
    out = [f"### {message.name} {{#{anchor(full)}}}", ""]
    described = comments.of(*path)
    if described:
        out += [described, ""]
    # proto3 `optional` fields sit in synthetic oneofs of their own; only real ones are named.
    synthetic = {f.oneof_index for f in message.field if f.proto3_optional}
    real_oneofs = {
        i: oneof.name for i, oneof in enumerate(message.oneof_decl) if i not in synthetic
    }
    if not message.field:
        out += ["No fields.", ""]
    else:
        out += ["| field | number | type | description |", "| --- | --- | --- | --- |"]
        for f_index, field in enumerate(message.field):
            note = comments.of(*path, MESSAGE_FIELD, f_index)
            if field.HasField("oneof_index") and field.oneof_index in real_oneofs:
                note = f"One of `{real_oneofs[field.oneof_index]}`. {note}".strip()
            out.append(f"| `{field.name}` | {field.number} | {field_type(field)} | {cell(note)} |")
        out.append("")
        for o_index, name in real_oneofs.items():
            described = comments.of(*path, MESSAGE_ONEOF, o_index)
            if described:
                out += [f"`{name}` (one of the fields above): {described}", ""]
    for n_index, nested in enumerate(message.nested_type):
        if nested.options.map_entry:
            continue
        out += render_message(
            nested, f"{full}.{nested.name}", (*path, MESSAGE_NESTED, n_index), comments, field_type
        )
    for e_index, enum in enumerate(message.enum_type):
        out += render_enum(enum, f"{full}.{enum.name}", (*path, MESSAGE_ENUM, e_index), comments)
    return out


def render_enum(enum, full, path, comments) -> list[str]:
    out = [f"### {enum.name} {{#{anchor(full)}}}", ""]
    described = comments.of(*path)
    if described:
        out += [described, ""]
    out += ["| value | number | description |", "| --- | --- | --- |"]
    for v_index, value in enumerate(enum.value):
        out.append(
            f"| `{value.name}` | {value.number} | {cell(comments.of(*path, ENUM_VALUE, v_index))} |"
        )
    out.append("")
    return out


def on_files(files: Files, config: Any) -> Files:
    fds = descriptor_set()
    files.append(File.generated(config, PAGE, content=render(fds)))
    for proto in sorted(PROTO_DIR.rglob("*.proto")):
        relative = proto.relative_to(ROOT).as_posix()
        files.append(File.generated(config, f"reference/{relative}", abs_src_path=str(proto)))
    return files
