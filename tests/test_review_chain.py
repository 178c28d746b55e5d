"""The review chain as data (002 §2: configured per unit and region): the decision review_chain (bpmn/review_chain.dmn)
gives the levels after the unit's 审核岗, the reusable sub-process review_chain runs them in order. Adding a
需求领导 level for one region is one table row deployed from the Modeler: no diagram changes."""
from pathlib import Path

from sqlalchemy import select

from app.engine import deployments
from app.models import DecisionDefinition, ProcessDefinition
from helpers import apply_plan, approve, names, register_project, reject

ROOT = Path(__file__).resolve().parent.parent
LEADER_ROW = '''      <rule id="Rule_fujian_leader">
        <description>福建省本级：需求领导审核（区划的配置）</description>
        <inputEntry id="UnaryTests_leader_level"><text>-</text></inputEntry>
        <inputEntry id="UnaryTests_leader_region"><text>"福建省本级"</text></inputEntry>
        <inputEntry id="UnaryTests_leader_amount"><text>&gt;= 100000</text></inputEntry>
        <inputEntry id="UnaryTests_leader_procedure"><text>"plan_application"</text></inputEntry>
        <outputEntry id="LiteralExpression_leader_group"><text>"leader"</text></outputEntry>
        <outputEntry id="LiteralExpression_leader_name"><text>"需求领导审核"</text></outputEntry>
      </rule>
'''


def _add_leader_row(app):
    """The analyst adds one row before the finance row in the Modeler's DMN editor and deploys the table."""
    text = (ROOT / "bpmn" / "review_chain.dmn").read_text(encoding="utf-8")
    anchor = '      <rule id="Rule_provincial_finance">'
    assert anchor in text
    changed = text.replace(anchor, LEADER_ROW + anchor)
    with app.extensions["db"].Session() as session, session.begin():
        deployment, defs, forms = deployments.deploy(session, [("review_chain.dmn", changed.encode())],
                                                     deployed_by="analyst", name="审核链")
        assert deployment is not None and defs == [] and forms == []  # a decision version, no diagram


def _versions(app, model, key):
    with app.extensions["db"].Session() as session:
        return list(session.scalars(select(model.version).where(model.key == key).order_by(model.version)))


def test_the_seed_chain_finance_for_provincial_units_only(app, login):
    clerk, reviewer, finance = login("clerk"), login("reviewer"), login("finance")
    project = register_project(clerk, reviewer)
    instance = apply_plan(clerk, project["id"])
    approve(reviewer, "采购单位审核岗审核", instance["id"])
    assert names(finance.tasks(), instance["id"]) == ["财政部门审核"]
    done = approve(finance, "财政部门审核", instance["id"])
    assert done["status"] == "completed" and done["data"]["review_level"] == "财政部门审核"
    decided = [e for e in clerk.history(instance["id"]) if e["type"] == "decision_evaluated"]
    assert [(e["data"]["decision"], e["data"]["result"]) for e in decided] == [
        ("review_chain", [{"group": "finance", "name": "财政部门审核"}])]


def test_one_table_row_adds_a_leader_level_for_one_region(app, login):
    clerk, reviewer, leader, finance = login("clerk"), login("reviewer"), login("leader"), login("finance")
    project = register_project(clerk, reviewer, amount=800000)
    running = apply_plan(clerk, project["id"], amount=150000, sme_reserved_amount=150000)
    _add_leader_row(app)
    assert _versions(app, DecisionDefinition, "review_chain") == [1, 2]
    assert _versions(app, ProcessDefinition, "plan_application") == [1]  # no diagram changed

    # A new instance of the provincial unit (region 福建省本级) runs three levels: 审核岗, 需求领导, 财政部门.
    new = apply_plan(clerk, project["id"], amount=200000, sme_reserved_amount=200000)
    assert new["version"] == 1
    approve(reviewer, "采购单位审核岗审核", new["id"])
    assert names(finance.tasks(), new["id"]) == [] and names(leader.tasks(), new["id"]) == ["需求领导审核"]
    approve(leader, "需求领导审核", new["id"])
    assert names(finance.tasks(), new["id"]) == ["财政部门审核"]
    done = approve(finance, "财政部门审核", new["id"])
    assert done["status"] == "completed"
    assert [e["actor"] for e in clerk.history(new["id"]) if e["type"] == "task_completed"] == \
        ["reviewer", "leader", "finance"]

    # The instance submitted before the row was added had not reached the chain yet: the chain asks the latest
    # table when it starts, so it gets the leader level too.
    approve(reviewer, "采购单位审核岗审核", running["id"])
    assert names(leader.tasks(), running["id"]) == ["需求领导审核"]

    # Below the row's amount (10万) the leader level does not apply.
    small = apply_plan(clerk, project["id"], amount=99999.99, sme_reserved_amount=99999.99)
    approve(reviewer, "采购单位审核岗审核", small["id"])
    assert names(leader.tasks(), small["id"]) == [] and names(finance.tasks(), small["id"]) == ["财政部门审核"]


def test_a_rejection_stops_the_chain_at_that_level(app, login):
    clerk, reviewer, leader, finance = login("clerk"), login("reviewer"), login("leader"), login("finance")
    project = register_project(clerk, reviewer)
    _add_leader_row(app)
    instance = apply_plan(clerk, project["id"])
    approve(reviewer, "采购单位审核岗审核", instance["id"])
    reject(leader, "需求领导审核", instance["id"], "请补充需求论证")
    assert names(finance.tasks(), instance["id"]) == []
    edit = clerk.task_named("编辑采购计划", instance["id"])
    data = clerk.ok(clerk.get(f"/api/tasks/{edit['id']}"))["data"]
    assert data["comment"] == "请补充需求论证" and data["review_level"] == "需求领导审核"
    assert clerk.ok(clerk.get(f"/api/plans/{instance['data']['plan_id']}"))["status"] == "draft"


def test_other_regions_keep_their_chain(app, login):
    clerk2, reviewer2, leader, finance = login("clerk2"), login("reviewer2"), login("leader"), login("finance")
    _add_leader_row(app)
    project = register_project(clerk2, reviewer2, budget_line_id=4, amount=300000)
    instance = apply_plan(clerk2, project["id"], amount=200000, sme_reserved_amount=200000)
    assert instance["data"]["unit_region"] == "福州市"
    done = approve(reviewer2, "采购单位审核岗审核", instance["id"])
    assert done["status"] == "completed"  # a city unit of 福州市: no further level
    assert names(leader.tasks(), instance["id"]) == [] and names(finance.tasks(), instance["id"]) == []
