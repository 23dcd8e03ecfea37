"""Loading the workflow configuration users edit, checked as a whole at start:

* ``config/fields.yaml`` — the field library (``FieldLibrary``);
* ``config/templates/*.yaml`` — one ticket template per file (``Template``): its fields, what
  intake collects, what cards show, its workflow and approval rules;
* ``config/workflow.yaml`` — the nodes a supervisor may insert on a live ticket (``加质检 GD…``)
  and approval rules shared by every template.

Every problem is one ``file:line: field: message`` line (handlers/config_file.py), all of them at
once, so a manager fixing a template sees everything wrong in one go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from handlers.config_file import (CONFIG_DIR, ConfigError, Problem, YamlDocument, read_yaml_file,
                                  validate_model)
from handlers.workflow.engine.model import (BUILT_IN, ApprovalRule, FieldDef, FieldLibrary,
                                            NodeDef, Template)
from nlp.classify import CATEGORIES

#: a template serves one of the categories intake tells apart, or the bot's own 回访
KINDS: Final = (*CATEGORIES, "followup")


class WorkflowConfigError(ConfigError):
    """One line per problem: ``file:line: field: message``."""


class Insertable(BaseModel):
    """A node a supervisor may add to a live ticket, by the word they write (``质检``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node: NodeDef
    priority: str | None = Field(default=None, pattern="^(low|normal|high|urgent)$")


class GlobalWorkflow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    insertable: dict[str, Insertable] = {}
    approvals: tuple[ApprovalRule, ...] = ()
    #: who may insert nodes on a live ticket
    inserters: tuple[str, ...] = ("supervisor", "manager", "dispatcher", "director")


@dataclass(frozen=True)
class WorkflowConfig:
    library: FieldLibrary
    templates: dict[str, Template]
    insertable: dict[str, Insertable] = field(default_factory=dict)
    shared_approvals: tuple[ApprovalRule, ...] = ()
    inserters: tuple[str, ...] = ("supervisor", "manager", "dispatcher", "director")
    sources: dict[str, str] = field(default_factory=dict)  # template key → its file

    def template_for(self, kind: str, text: str = "", *, any_kind: bool = True
                     ) -> Template | None:
        """The template whose keywords ``text`` contains (one of ``kind`` first, then any: a
        manager's new kind of ticket is recognised by its own words, "坏果" is a 商品问题 even
        where the classifier heard a repair), else the default template of ``kind``."""
        def hits(t: Template) -> bool:
            return bool(t.keywords) and any(w in text for w in t.keywords)

        ts = list(self.templates.values())
        return (next((t for t in ts if t.kind == kind and hits(t)), None)
                or (next((t for t in ts if hits(t)), None) if any_kind else None)
                or next((t for t in ts if t.kind == kind and not t.keywords), None))

    def field(self, name: str, template: str = "") -> FieldDef | None:
        """A field by name: the template's own definition first, then the library's."""
        t = self.templates.get(template)
        own = t.field_defs.get(name) if t is not None else None
        return own or self.library.fields.get(name)

    def label(self, name: str) -> str:
        f = self.field(name)
        return f.label if f else name

    def approval_rule(self, template: Template | None, key: str) -> ApprovalRule | None:
        own = template.approval(key) if template else None
        return own or next((r for r in self.shared_approvals if r.key == key), None)

    def approval_rules(self, template: Template | None) -> list[ApprovalRule]:
        """Every rule that may apply to this template's quotes: its own, then the shared."""
        own = list(template.approvals) if template else []
        return own + [r for r in self.shared_approvals if r.key not in {o.key for o in own}]


DEFAULT_DIR: Final = CONFIG_DIR


def load_workflow_config(config_dir: Path | None = None) -> WorkflowConfig:
    """Everything under ``config_dir`` (default ``config/``), or ``WorkflowConfigError`` listing
    every problem of every file."""
    root = Path(config_dir or DEFAULT_DIR)
    problems: list[str] = []

    def load(path: Path, model: type[BaseModel]) -> tuple[BaseModel | None, YamlDocument | None]:
        try:
            doc = read_yaml_file(path, WorkflowConfigError)
            return validate_model(doc, model, WorkflowConfigError), doc
        except WorkflowConfigError as exc:
            problems.extend(str(exc).splitlines())
            return None, None

    library, _ = load(root / "fields.yaml", FieldLibrary)
    glob = GlobalWorkflow()
    if (root / "workflow.yaml").exists():
        got, _ = load(root / "workflow.yaml", GlobalWorkflow)
        glob = got or glob  # type: ignore[assignment]
    templates: dict[str, Template] = {}
    sources: dict[str, str] = {}
    for path in sorted((root / "templates").glob("*.y*ml")):
        t, doc = load(path, Template)
        if t is None or doc is None:
            continue
        assert isinstance(t, Template)
        problems.extend(_check_template(t, doc, library, templates, sources))  # type: ignore[arg-type]
        templates[t.key] = t
        sources[t.key] = str(path)
    for kind in KINDS:
        defaults = [t for t in templates.values() if t.kind == kind and not t.keywords]
        if len(defaults) > 1:
            problems.append(str(Problem(sources[defaults[1].key], None, "keywords",
                                        f"two templates serve {kind!r} without keywords "
                                        f"({defaults[0].key}, {defaults[1].key}): give one "
                                        "keywords, or remove one")))
    if problems:
        raise WorkflowConfigError("\n".join(problems))
    return WorkflowConfig(library, templates, dict(glob.insertable), glob.approvals,  # type: ignore[arg-type]
                          glob.inserters, sources)


def _check_template(t: Template, doc: YamlDocument, library: FieldLibrary | None,
                    seen: dict[str, Template], sources: dict[str, str]) -> list[str]:
    out: list[str] = []
    if t.kind not in KINDS:
        out.append(str(doc.problem(("kind",), f"{t.kind!r} is not a ticket kind "
                                              f"({', '.join(KINDS)})", field="kind")))
    if t.key in seen:
        out.append(str(doc.problem(("key",), f"{t.key!r} is also the key of "
                                             f"{sources[t.key]}", field="key")))
    if library is not None:
        for i, name in enumerate(t.fields):
            if name not in BUILT_IN and name not in library.fields and name not in t.field_defs:
                out.append(str(doc.problem(("fields", i), f"{name!r} is not in the field library "
                                                          "(config/fields.yaml), field_defs, "
                                                          f"nor built in ({', '.join(BUILT_IN)})",
                                           field=f"fields.{i}")))
    return out
