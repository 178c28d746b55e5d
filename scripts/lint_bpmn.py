"""Check diagrams and forms the way a deployment does, before anyone deploys them.

    python scripts/lint_bpmn.py [files or folders …]        (default: bpmn/ forms/)
    python scripts/lint_bpmn.py bpmn/plan_application.bpmn  (the rest of bpmn/ and forms/ as context)
    python scripts/lint_bpmn.py --database URL my.bpmn      (what that database has deployed as context)

Runs exactly the checks of ``app.engine.deployments.deploy`` (parser problems and ``app.engine.lint``):
XML and BPMN structure; constructs the service does not run (scripts, Java classes, cron timers); every
condition, parameter and assignee expression parses in the safe evaluator; every service-task topic has
a registered handler; every formRef / start form has a form; every candidate group is a known role; a
gateway right after a user task reads only variables its form declares or the diagram visibly sets
(see ``lint.py``); call activities name a deployed or included process; timer cycles and durations are at
least TIMER_MIN_SECONDS (default 60); every element has diagram layout, and the layout reads (no flow through
a shape or a label, no label over a shape or a label: ``app.engine.lint_geometry``; --no-layout skips this,
as a deployment does); with --joins, flows join only through gateways (bpmnlint fake-join; ./test.sh checks
bpmn/ so). Cycles with no wait state (no user
task, receive task or message/timer/signal catch event) and form fields that nothing in the diagrams using the
form reads, and variables a condition reads that no form, handler, parameter or caller sets
(``app.engine.lint_fields``) are printed as warnings: they fail the check only with --strict.
Nothing is written anywhere: the files are deployed into a throw-away in-memory database (or, with
--database, into a transaction that is rolled back).

Prints ``file [element]: message`` per problem (``警告 / warning: file [element]: message`` per warning); exit
status 0 when there are no problems, 1 when there are.
"""
import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def collect(paths):
    files = []
    for raw in paths:
        path = Path(raw)
        candidates = sorted(path.glob("*")) if path.is_dir() else [path]
        for item in candidates:
            if item.suffix in (".bpmn", ".dmn", ".form") and item.is_file():
                files.append(item)
    return files


def _fake_joins(name, data):
    from app.engine.lint_geometry import FAKE_JOIN, check_text

    try:
        return [{"file": name, "element": e, "message": m} for e, m in check_text(data) if FAKE_JOIN in m]
    except Exception:  # noqa: BLE001 - unreadable XML is already a deployment problem
        return []


def _unread_fields(files, with_context):
    """Form fields nothing in the diagrams that use the form reads, variables a condition reads that nothing sets
    (app.engine.lint_fields): warnings. The forms reported are those linted and those the linted diagrams use; the
    readers and setters are all diagrams and forms (with the rest of bpmn/ and forms/ as context)."""
    from app.engine import lint_fields

    everything = {p.resolve(): p for p in files}
    if with_context:
        everything.update({p.resolve(): p for p in collect([ROOT / "bpmn", ROOT / "forms"])
                           if p.name not in {f.name for f in files}})
    diagrams = {p.name: p.read_bytes() for p in everything.values() if p.suffix == ".bpmn"}
    forms, linted, diagrams_linted = {}, set(), {p.name for p in files if p.suffix == ".bpmn"}
    for path in everything.values():
        if path.suffix != ".form":
            continue
        try:
            key, schema = lint_fields.load_form(path.read_bytes())
        except (ValueError, AttributeError):
            continue  # not a form: a deployment problem of its own
        forms[key or path.stem] = (path.name, schema)
        if path in files:
            linted.add(key or path.stem)
    for path in files:
        if path.suffix == ".bpmn":
            try:
                linted |= lint_fields.diagram_reads(path.read_bytes())["forms"]
            except Exception:  # noqa: BLE001 - unreadable XML is already a deployment problem
                pass
    return lint_fields.unread_fields(diagrams, forms, report=linted) + lint_fields.unset_gateway_reads(
        diagrams, forms, report=diagrams_linted)


def lint(files, database=None, context=True, warnings=None, layout=True, joins=False):
    """[(file, element, message)] for ``files`` (paths), as a deployment would refuse them, plus (``layout``) the
    drawing's crossings and overlaps (``app.engine.lint_geometry``: a deployment only warns about those) and
    (``joins``) flows that join without a gateway; what
    lint only warns about is appended to ``warnings`` (a list) when one is given."""
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.engine import deployments
    from app.engine.deployments import DeploymentError
    from app.models import Base

    engine = make_engine(database or "sqlite://")
    if database is None:
        Base.metadata.create_all(engine)
    names = {f.name for f in files}
    try:
        with Session(engine) as session:
            session.begin()
            if database is None and context:
                extra = [p for p in collect([ROOT / "bpmn", ROOT / "forms"]) if p.name not in names]
                try:
                    with session.begin_nested():
                        deployments.deploy(session, [(p.name, p.read_bytes()) for p in extra], name="context")
                except DeploymentError:
                    pass  # the project's own files have problems: lint without them as context
            sources = [(p.name, p.read_bytes()) for p in files]
            try:
                deployment, _, _ = deployments.deploy(session, sources, name="lint", changed_only=False)
                problems, found = [], getattr(deployment, "warnings", [])
            except DeploymentError as err:
                problems = [(p["file"], p.get("element"), p["message"]) for p in err.problems]
                found = err.warnings
            if layout:  # a crossing or overlap in the drawing fails the check (a deployment only warns)
                problems.extend((w["file"], w.get("element"), w["message"]) for w in found if w.get("kind") == "layout")
                found = [w for w in found if w.get("kind") != "layout"]
            if joins:  # bpmnlint fake-join: flows joining without a gateway
                problems.extend((f["file"], f["element"], f["message"]) for name, data in sources
                                if name.endswith(".bpmn") for f in _fake_joins(name, data))
            found = found + _unread_fields(files, context and database is None)
            if warnings is not None:
                warnings.extend((w["file"], w.get("element"), w["message"]) for w in found)
            session.rollback()
    finally:
        engine.dispose()
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", help="files or folders (default: bpmn/ forms/)")
    parser.add_argument("--database", help="lint against what this database has deployed (nothing is written)")
    parser.add_argument("--no-context", action="store_true",
                        help="do not treat the rest of bpmn/ and forms/ as deployed")
    parser.add_argument("--joins", action="store_true",
                        help="fail on flows that join without a gateway (bpmnlint fake-join)")
    parser.add_argument("--strict", action="store_true",
                        help="fail on warnings too (form fields nothing reads, cycles without a wait state, …)")
    parser.add_argument("--no-layout", action="store_true",
                        help="do not fail on crossings and overlaps in the drawing (a deployment only warns)")
    args = parser.parse_args(argv)
    files = collect(args.paths or [ROOT / "bpmn", ROOT / "forms"])
    if not files:
        print("没有找到 .bpmn 或 .form 文件 / no .bpmn or .form files found", file=sys.stderr)
        return 1
    logging.getLogger("app.engine.deployments").setLevel(logging.ERROR)  # warnings are printed below instead
    warnings = []
    problems = lint(files, args.database, context=not args.no_context, warnings=warnings,
                    layout=not args.no_layout, joins=args.joins)
    if args.strict:
        problems, warnings = problems + warnings, []
    for file, element, message in problems:
        print(f"{file} [{element or '-'}]: {message}")
    for file, element, message in warnings:
        print(f"警告 / warning: {file} [{element or '-'}]: {message}")
    diagrams = sum(1 for f in files if f.suffix == ".bpmn")
    tables = sum(1 for f in files if f.suffix == ".dmn")
    print(f"检查了 {diagrams} 个流程图、{tables} 个决策表文件、{len(files) - diagrams - tables} 个表单：" +
          (f"{len(problems)} 个问题 / {len(problems)} problem(s)" if problems else "没有问题 / no problems") +
          (f"，{len(warnings)} 个警告 / {len(warnings)} warning(s)" if warnings else ""), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
