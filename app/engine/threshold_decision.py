"""The 限额标准 decision (``bpmn/thresholds.dmn``, decision ``thresholds``): the one source of the thresholds.

An analyst edits the table in Camunda Modeler's DMN editor and deploys it like a diagram; an administrator edits the
same decision on the 系统设置 限额标准 page (``PUT /api/thresholds``), which deploys a new version of it. Every version
is a ``decision_definition`` row (who, when); ``history`` gives what each version changed.

The table: inputs 限额类型 ``kind``, 区划 ``region``, 品目类别 ``category``; output 金额 ``amount``; hit policy FIRST,
so a region's own rule (``"柳江"``) comes before a rule for every region (``-``); a rule's annotation is its source.

``app/models/threshold.py`` asks through ``register()`` (models never import the engine): ``rules`` lists the rules
as rows, ``lookup`` evaluates the decision; both cached by the version's content.
"""
from dataclasses import replace
from decimal import Decimal
from xml.sax.saxutils import escape

from lxml import etree
from sqlalchemy import select

from ..models import DecisionDefinition
from ..models import threshold as model
from . import dmn, expressions

KEY, FILE = "thresholds", "thresholds.dmn"
_rows_cache = {}  # content hash → [Rule] (without who/when)
_history_cache = {}  # the latest version (id, content, time) → [Rule] with who/when


def _latest_ref(session):
    return session.execute(select(DecisionDefinition.id, DecisionDefinition.content_hash, DecisionDefinition.deployed_at)
                           .where(DecisionDefinition.key == KEY)
                           .order_by(DecisionDefinition.version.desc()).limit(1)).first()


def _table(session, ref):
    cached = dmn._tables.get((ref.content_hash, KEY))
    return cached if cached is not None else dmn.table_of(session.get(DecisionDefinition, ref.id))


def _literals(tests, every):
    """The values a rule's input entry names: ``-`` is every value; ``None`` when it is not a plain list."""
    if tests is None:
        return list(every)
    if tests[0] != "any" or any(t[0] != "eq" for t in tests[1]):
        return None
    values = [expressions.evaluate(t[1], {}) for t in tests[1]]
    return values if all(isinstance(v, str) for v in values) else None


def _annotations(text):
    root = etree.fromstring(text.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    found = {}
    for rule in root.iter("{*}rule"):
        description = rule.find("{*}description")
        found[rule.get("id")] = (description.text or "").strip() if description is not None else ""
    return found


def _parse_rows(table, xml):
    """The table's rules as rows, the first rule for a (kind, region, category) winning (hit policy FIRST)."""
    notes, rows = _annotations(xml), {}
    columns = [expr for _, _, expr, _ in table.inputs]
    if columns != ["kind", "region", "category"] or [n for _, n in table.outputs][:1] != ["amount"]:
        return []
    for rid, tests, outs in table.rules:
        kinds = _literals(tests[0], model.KINDS)
        regions = _literals(tests[1], [model.ANY_REGION])
        categories = _literals(tests[2], model.CATEGORIES)
        if None in (kinds, regions, categories) or not outs[0]:
            continue
        amount = Decimal(str(expressions.evaluate(outs[0], {}))).quantize(Decimal("0.01"))
        for kind in kinds:
            for region in regions:
                for category in categories:
                    if kind in model.KINDS and category in model.CATEGORIES:
                        rows.setdefault((kind, region, category), model.Rule(
                            kind, region, category, amount, notes.get(rid, "")[:64]))
    return list(rows.values())


def _rows_of(definition):
    rows = _rows_cache.get(definition.content_hash)
    if rows is None:
        rows = _rows_cache[definition.content_hash] = _parse_rows(dmn.table_of(definition), definition.dmn_xml)
    return rows


def _versions(session):
    return list(session.scalars(select(DecisionDefinition).where(DecisionDefinition.key == KEY)
                                .order_by(DecisionDefinition.version)))


def rules(session):
    """[Rule] of the latest version, each with who/when last changed its amount (None: as first deployed), or None
    when the decision is not deployed."""
    ref = _latest_ref(session)
    if ref is None:
        return None
    hit = _history_cache.get(tuple(ref))
    if hit is None:
        changed, previous = {}, None
        for version in _versions(session):
            rows = {r.key: r for r in _rows_of(version)}
            for key, row in rows.items():
                if previous is not None and (key not in previous or previous[key].amount != row.amount):
                    changed[key] = (version.deployed_by, version.deployed_at)
            previous = rows
        hit = [replace(row, id=i, updated_by=changed.get(row.key, (None, None))[0],
                       updated_at=changed.get(row.key, (None, None))[1])
               for i, row in enumerate(sorted(previous.values(), key=model.Rule.order), start=1)]
        _history_cache.clear()
        _history_cache[tuple(ref)] = hit
    return hit


def lookup(session, kind, region, category):
    """The decision's amount for (kind, region, category): ``model.NOT_DEPLOYED`` when there is no decision yet,
    None when no rule matches."""
    ref = _latest_ref(session)
    if ref is None:
        return model.NOT_DEPLOYED
    results = dmn.evaluate(_table(session, ref), {"kind": kind, "region": region, "category": category})["results"]
    if not results or results[0].get("amount") is None:
        return None
    return Decimal(str(results[0]["amount"])).quantize(Decimal("0.01"))


def history(session):
    """Every version, newest first: who deployed it, when, from where and what it changed."""
    out, previous = [], {}
    for version in _versions(session):
        rows = {r.key: r for r in _rows_of(version)}
        changes = [{"kind": k[0], "region": k[1], "category": k[2],
                    "old": previous[k].amount if k in previous else None,
                    "new": rows[k].amount if k in rows else None}
                   for k in sorted(set(rows) | set(previous), key=lambda k: model.Rule.order_key(*k))
                   if (previous.get(k) and previous[k].amount) != (rows.get(k) and rows[k].amount)]
        out.append({"version": version.version, "deployed_by": version.deployed_by,
                    "deployed_at": version.deployed_at, "source": version.deployment.source if version.deployment else "",
                    "changes": changes if version.version > 1 else [], "rules": len(rows)})
        previous = rows
    return out[::-1]


def _number(amount):
    text = f"{Decimal(amount).quantize(Decimal('0.01')):f}"
    return text[:-3] if text.endswith(".00") else text


def to_xml(rows):
    """The decision file as Camunda Modeler (DMN 1.3) writes it: one rule per row, regions' own rules before the
    rules for every region (hit policy FIRST)."""
    ordered = sorted(rows, key=lambda r: (r.region == model.ANY_REGION, *model.Rule.order(r)))
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" '
           'xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/" '
           'xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" '
           'xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_thresholds" name="限额标准" '
           'namespace="http://camunda.org/schema/1.0/dmn" exporter="Camunda Modeler" exporterVersion="5.28.0" '
           'modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.22.0">',
           f'  <decision id="{KEY}" name="限额标准">',
           '    <description>分散采购限额（001 §2.2.1 注①）、交易系统限额（004 §3 柳江区）、面向中小企业预留的金额上限和比例'
           '（001 §4.1.1 注）。命中策略 FIRST：区划自己的规则在前，区划为“-”（所有区划）的规则在后。金额单位为元，预留比例为百分数。'
           '</description>',
           '    <decisionTable id="DecisionTable_thresholds" hitPolicy="FIRST">',
           '      <input id="Input_kind" label="限额类型">',
           '        <inputExpression id="InputExpression_kind" typeRef="string"><text>kind</text></inputExpression>',
           '      </input>',
           '      <input id="Input_region" label="区划">',
           '        <inputExpression id="InputExpression_region" typeRef="string"><text>region</text></inputExpression>',
           '      </input>',
           '      <input id="Input_category" label="品目类别">',
           '        <inputExpression id="InputExpression_category" typeRef="string"><text>category</text>'
           '</inputExpression>',
           '      </input>',
           '      <output id="Output_amount" label="金额（元）或比例（%）" name="amount" typeRef="number" />']
    for i, row in enumerate(ordered, start=1):
        region = "-" if row.region == model.ANY_REGION else f'"{escape(row.region)}"'
        out += [f'      <rule id="Rule_{i}">',
                f'        <description>{escape(row.source or "")}</description>',
                f'        <inputEntry id="UnaryTests_{i}_kind"><text>"{row.kind}"</text></inputEntry>',
                f'        <inputEntry id="UnaryTests_{i}_region"><text>{region}</text></inputEntry>',
                f'        <inputEntry id="UnaryTests_{i}_category"><text>"{row.category}"</text></inputEntry>',
                f'        <outputEntry id="LiteralExpression_{i}"><text>{_number(row.amount)}</text></outputEntry>',
                '      </rule>']
    out += ['    </decisionTable>', '  </decision>', '  <dmndi:DMNDI>', '    <dmndi:DMNDiagram id="DMNDiagram_thresholds">',
            f'      <dmndi:DMNShape id="DMNShape_{KEY}" dmnElementRef="{KEY}">',
            '        <dc:Bounds height="80" width="180" x="160" y="100" />', '      </dmndi:DMNShape>',
            '    </dmndi:DMNDiagram>', '  </dmndi:DMNDI>', '</definitions>', '']
    return "\n".join(out)


def save(session, changes, username, now):
    """Set the amounts of ``changes`` [{kind, region, category, amount}] (validated by the API; new regions are
    added): a new version of the decision, deployed by ``username``. Returns the deployment, None if nothing
    changed."""
    from .deployments import deploy
    latest = session.scalars(select(DecisionDefinition).where(DecisionDefinition.key == KEY)
                             .order_by(DecisionDefinition.version.desc()).limit(1).with_for_update()).first()
    rows = {r.key: r for r in (_rows_of(latest) if latest is not None else
                               [model.Rule(*d) for d in model.DEFAULTS])}
    for change in changes:
        key = (change["kind"], change["region"], change["category"])
        source = rows[key].source if key in rows else "管理员设置"
        rows[key] = model.Rule(*key, Decimal(change["amount"]), source)
    deployment, _, _ = deploy(session, [(FILE, to_xml(rows.values()).encode("utf-8"))], deployed_by=username,
                              name="限额标准", source="系统设置", now=now)
    return deployment


def adopt_table(session, now=None):
    """Start-up, once: the amounts an administrator set in the former ``threshold`` table become a version of the
    decision (the table stays as history; its adopted rows are marked so they are not adopted again)."""
    from ..models.threshold import MIGRATED, Threshold
    pending = list(session.scalars(select(Threshold).where(Threshold.updated_by.is_not(None))
                                   .where(~Threshold.source.startswith(MIGRATED))))
    if not pending or _latest_ref(session) is None:
        return None
    deployment = save(session, [{"kind": t.kind, "region": t.region, "category": t.category, "amount": t.amount}
                                for t in pending], pending[-1].updated_by, now)
    for row in pending:
        row.source = f"{MIGRATED}{row.source}"[:64]
    session.flush()
    return deployment


def register():
    model.use_decision(lookup=lookup, rules=rules)
