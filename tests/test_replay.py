"""Replay: every procedure's instances replay from their history alone to the stored state; a tampered
history diverges at the step it changed; replay writes nothing and calls no handler."""
import importlib
import inspect
import sys
import json

import pytest
from sqlalchemy import func, select, text

from helpers import apply_plan, approve, register_project

# Scenarios of the other test modules: together they run every procedure in bpmn/ (approvals, rejections,
# withdrawals, drafts, policy refusals via error boundary events, claims, the transaction and contract chains).
SCENARIOS = [
    ("test_plan_approval", "test_registration_occupies_budget_and_plan_is_filed_through_city_chain"),
    ("test_plan_approval", "test_provincial_unit_adds_finance_review"),
    ("test_plan_approval", "test_reject_returns_to_clerk_with_comment_then_resubmit"),
    ("test_plan_approval", "test_withdraw_before_first_review_then_delete"),
    ("test_plan_approval", "test_draft_then_submit"),
    ("test_plan_approval", "test_project_reject_releases_budget_and_delete"),
    ("test_plan_approval", "test_over_budget_goes_back_to_clerk_with_message"),
    ("test_plan_approval", "test_sme_rules"),
    ("test_plan_approval", "test_import_needs_an_approved_import_approval"),
    ("test_api_errors", "test_claim_release_and_claimed_by_other"),
    ("test_transactions", "test_cancel_procurement_chain_releases_the_budget"),
    ("test_transactions", "test_purchaser_declines_cancellation_and_the_tender_goes_on"),
    ("test_transactions", "test_failed_bid_chain"),
    ("test_transactions", "test_plan_revocation_needs_return_and_refuses_used_plans"),
    ("test_transactions", "test_plan_return_rules"),
    ("test_transactions", "test_fund_adjustment_replace_add_recover"),
    ("test_plan_procedures", "test_dispatch_to_another_clerk_then_recall"),
    ("test_plan_procedures", "test_purchasers_change_goes_to_finance_for_a_provincial_unit"),
    ("test_plan_procedures", "test_change_rejected_then_resubmitted_and_abandoned_city_unit"),
    ("test_plan_procedures", "test_agency_retender_request_to_single_source"),
    ("test_plan_procedures", "test_import_approval_chain_and_the_plan_that_uses_it"),
    ("test_plan_procedures", "test_import_reject_paths_and_delete"),
    ("test_plan_types", "test_joint_plan_counts_each_members_amount_against_its_own_project"),
    ("test_entrustment", "test_entrustment_end_to_end_with_review_invitation"),
    ("test_entrustment", "test_every_return_path_city_unit"),
    ("test_entrustment", "test_failed_tender_retendered_after_a_method_change"),
    ("test_contracts", "test_filing_chain_entry_review_publish_file"),
    ("test_contracts", "test_filing_reject_edit_resubmit_then_reject_and_delete"),
    ("test_contracts", "test_filing_draft_then_submit"),
    ("test_contracts", "test_amount_over_plan_goes_back_to_clerk_with_message"),
    ("test_contracts", "test_change_chain_makes_a_new_version_and_keeps_the_old"),
    ("test_contracts", "test_termination_chain_blocks_payments_from_the_request_on"),
    ("test_contracts", "test_account_change_chain_keeps_the_old_account"),
    ("test_contracts", "test_revocation_chain_then_published_again"),
    ("test_contracts", "test_fulfillment_then_nothing_more"),
    ("test_payments", "test_payment_chain_reserves_then_pays"),
    ("test_payments", "test_payment_reject_releases_then_resubmit_or_cancel"),
    ("test_payments", "test_writeoff_chain_reduces_paid"),
    ("test_supplements", "test_supplement_chain_raises_what_may_be_paid"),
    ("test_supplements", "test_supplement_reject_then_cancel"),
    ("test_supplements", "test_subcontract_chain"),
    ("test_acceptance", "test_acceptance_chain_and_project_closing_query"),
    ("test_acceptance", "test_failed_acceptance_does_not_count_and_cancel"),
    ("test_year_end", "test_campaign_played_to_the_end"),
    ("test_year_end", "test_reminder_fires_once_and_rerun_starts_nothing_twice"),
    ("test_year_end", "test_yearly_timer_starts_the_campaign_on_1_december"),
    ("test_timers", "test_boundary_timer_fires_once_at_its_due_time"),
    ("test_timers", "test_intermediate_timer_then_handler"),
    ("test_timers", "test_timer_start_event_starts_one_instance_per_cycle"),
    ("test_announcements", "test_single_source_publicity_chain_and_plan_waits_for_it"),
    ("test_announcements", "test_failed_project_path_and_refusals"),
    ("test_announcements", "test_sme_reservation_report_chain"),
    ("test_experts", "test_extraction_draw_answers_adjust_and_complete"),
    ("test_experts", "test_pool_short_goes_back_with_the_group_and_revoke_before_answers"),
    ("test_supervision", "test_daily_timer_raises_each_warning_once"),
    ("test_supervision", "test_resolution_thresholds_in_data_and_visibility"),
    ("test_project_lifecycle", "test_change_reviewed_by_the_leader_makes_a_new_version_and_moves_the_budget"),
    ("test_project_lifecycle", "test_change_that_no_longer_fits_when_approved_goes_back_to_the_clerk"),
    ("test_project_lifecycle", "test_implementation_form_change_saved_when_it_fits_refused_otherwise"),
    ("test_project_lifecycle", "test_closing_needs_an_accepted_filed_contract_then_the_project_is_closed_for_good"),
    ("test_intents", "test_intent_reviewed_taken_back_and_published"),
    ("test_intents", "test_announcement_within_30_days_of_the_intent_or_without_one_needs_a_reason"),
    ("test_unified", "test_every_member_answers_then_the_lead_aggregates_early"),
    ("test_unified", "test_deadline_timer_aggregates_what_was_answered_and_ends_the_rest"),
    ("test_unified", "test_cancel_aggregation_while_no_plan_uses_it_then_terminate"),
    ("test_unified", "test_terminate_while_members_respond"),
    (__name__, "scenario_project_revocation"),
    (__name__, "scenario_requirement_drafting"),
]


def scenario_project_revocation(login):
    """撤销采购项目: rejected once by the leader, resubmitted, approved; a second one withdrawn and abandoned."""
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    first = clerk.start("project_revocation", {"project_id": project["id"], "reason": "项目取消"})
    leader_tasks = [t for t in login("leader").tasks() if t["instance_id"] == first["id"]]
    assert leader_tasks, first
    login("leader").complete(leader_tasks[0]["id"], {"approved": "false", "comment": "请补充依据"})
    edit = clerk.task_named("修改撤销申请", first["id"])
    clerk.complete(edit["id"], {"reason": "项目取消，依据已补充", "action": "submit"})
    again = [t for t in login("leader").tasks() if t["instance_id"] == first["id"]][0]
    done = login("leader").complete(again["id"], {"approved": "true", "comment": "同意"})
    assert done["status"] == "completed"
    other = register_project(clerk, reviewer, amount=1000)
    second = clerk.start("project_revocation", {"project_id": other["id"], "reason": "重复登记"})
    clerk.ok(clerk.post(f"/api/instances/{second['id']}/messages/withdraw", {"data": {"reason": "再想想"}}))
    clerk.complete(clerk.task_named("修改撤销申请", second["id"])["id"], {"reason": "重复登记", "action": "abandon"})
    assert clerk.ok(clerk.get(f"/api/instances/{second['id']}"))["status"] == "completed"


def scenario_requirement_drafting(login):
    """编制采购需求: saved as a draft twice, then finalised."""
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    instance = clerk.start("requirement_drafting", {"project_id": project["id"], "title": "实验室设备采购需求",
                                                    "content": "台式计算机 50 台"})
    for action, content in (("draft", "台式计算机 50 台，显示器 50 台"), ("final", "台式计算机 50 台，显示器 50 台，三年保修")):
        task = clerk.task_named("编制采购需求", instance["id"])
        clerk.complete(task["id"], {"title": "实验室设备采购需求", "content": content, "action": action})
    assert clerk.ok(clerk.get(f"/api/instances/{instance['id']}"))["status"] == "completed"


REPLAYED = {}  # scenario → process keys of the instances it replayed


def _run_scenario(request, module_name, function_name, app, login, clock):
    """Run another module's test with its fixtures (its own module fixtures too, e.g. test_year_end's campaign)."""
    module = importlib.import_module(module_name) if module_name != __name__ else sys.modules[__name__]
    function = getattr(module, function_name)
    supply = {"app": app, "login": login, "clock": clock,
              "roles": {r: login(r) for r in ("clerk", "reviewer", "leader", "finance", "agency")}}

    def resolve(name):
        if name not in supply:
            supply[name] = call_fixture(getattr(module, name))
        return supply[name]

    def call_fixture(fixture):
        wrapped = fixture.__wrapped__
        params = inspect.signature(wrapped).parameters
        return wrapped(**{p: resolve(p) if p in supply or hasattr(module, p) else request.getfixturevalue(p)
                          for p in params})

    for value in list(vars(module).values()):  # the module's autouse fixtures, as pytest would run them
        if type(value).__name__ == "FixtureFunctionDefinition" and value._fixture_function_marker.autouse:
            call_fixture(value)
    function(**{name: resolve(name) for name in inspect.signature(function).parameters})


def _replay_all(app, login):
    auditor = login("auditor")
    with app.extensions["db"].Session() as s:
        ids = list(s.scalars(text("SELECT id FROM process_instance ORDER BY id")))
    reports = {iid: auditor.ok(auditor.post(f"/api/instances/{iid}/replay")) for iid in ids}
    _same_as_the_quadratic_replay(app, ids)
    return reports


def _same_as_the_quadratic_replay(app, ids):
    """The linear replay (state kept in memory, one pass per event) reports exactly what the replay that saved and
    loaded the workflow after every step and walked the task tree for every lookup reported (issue 16)."""
    from app.engine import audit, replay
    from app.models import ProcessInstance

    def normal(report):
        return json.loads(json.dumps(report, default=str, sort_keys=True))
    with audit.readonly_session(app.extensions["db"]) as s:
        for iid in ids:
            instance = s.get(ProcessInstance, iid)
            linear, quadratic = replay.replay(s, instance), replay.replay(s, instance, roundtrip=True)
            assert normal(linear) == normal(quadratic), iid


@pytest.mark.parametrize("module_name,function_name", SCENARIOS, ids=[f for _, f in SCENARIOS])
def test_every_procedure_replays_to_its_stored_state(request, app, login, clock, module_name, function_name):
    _run_scenario(request, module_name, function_name, app, login, clock)
    reports = _replay_all(app, login)
    assert reports
    for iid, report in reports.items():
        assert report["ok"], (iid, report["first_divergence"], report["state"])
        assert report["state"]["ok"] and all(step["ok"] for step in report["steps"])
        assert [s["seq"] for s in report["steps"]] == list(range(1, report["events"] + 1))
    REPLAYED[function_name] = {r["steps"][0]["expected"]["definition"].split(":")[0] for r in reports.values()}


def _instance(login):
    clerk, reviewer = login("clerk"), login("reviewer")
    project = register_project(clerk, reviewer)
    return clerk, reviewer, apply_plan(clerk, project["id"])


def test_replay_reports_steps_and_token_positions(app, login):
    clerk, reviewer, instance = _instance(login)
    report = login("auditor").ok(login("auditor").post(f"/api/instances/{instance['id']}/replay"))
    assert report["ok"] and report["first_divergence"] is None and report["state"]["ok"]
    types = [s["type"] for s in report["steps"]]
    assert types == [e["type"] for e in clerk.history(instance["id"])]
    started = report["steps"][0]
    assert started["expected"] == {"definition": "plan_application:1"}
    assert "plan_save" in started["position"]["completed"] and started["position"]["active"] == ["plan_review"]
    service = report["steps"][1]
    assert service["type"] == "service_task" and service["actual"]["topic"] == service["expected"]["topic"]


def _tamper(app, iid, seq, mutate):
    with app.extensions["db"].engine.begin() as conn:
        raw = conn.execute(text("SELECT data FROM history_event WHERE instance_id = :i AND seq = :s"),
                           {"i": iid, "s": seq}).scalar()
        data = json.loads(raw) if isinstance(raw, str) else raw
        mutate(data)
        conn.execute(text("UPDATE history_event SET data = :d WHERE instance_id = :i AND seq = :s"),
                     {"d": json.dumps(data, ensure_ascii=False), "i": iid, "s": seq})


def test_tampered_decision_diverges_at_that_step(app, login):
    clerk, reviewer = login("clerk"), login("reviewer")
    instance = clerk.start("project_registration", {"name": "实验室设备采购", "year": 2026, "category": "goods",
                                                    "amount": 800000, "budget_line_id": 1,
                                                    "implementation_form": "agency"})
    task = reviewer.task_named("审核岗审核", instance["id"])
    reviewer.complete(task["id"], {"approved": "true", "comment": "同意"})
    history = clerk.history(instance["id"])
    completed = next(e for e in history if e["type"] == "task_completed")
    # Someone rewrites the review decision in the database: approved → rejected.
    _tamper(app, instance["id"], completed["seq"], lambda d: d["data"].update(approved=False, comment="不同意"))

    report = login("auditor").ok(login("auditor").post(f"/api/instances/{instance['id']}/replay"))
    assert report["ok"] is False
    first = report["first_divergence"]
    assert first["seq"] == completed["seq"] and first["type"] == "task_completed"
    # The gateway now routes to the rejection: the recorded handler (project.register) is not what runs.
    assert first["at_event"]["topic"] == "project.register"
    assert first["actual"]["topic"] != "project.register"
    assert [s["ok"] for s in report["steps"]][-1] is False
    assert all(s["ok"] for s in report["steps"][:-1])

    verify = clerk.ok(clerk.get(f"/api/instances/{instance['id']}/verify"))
    assert verify["ok"] is False and verify["chain"]["first_bad_seq"] == completed["seq"]
    assert verify["state"]["ok"] is False and verify["state"]["seq"] == completed["seq"]


def test_recorded_ready_tasks_are_checked_at_every_step(app, login):
    """Each completion records the READY user tasks it began with; the replay must have reached the same."""
    clerk, reviewer, instance = _instance(login)
    approve(reviewer, "采购单位审核岗审核", instance["id"])
    completed = next(e for e in clerk.history(instance["id"]) if e["type"] == "task_completed")
    assert completed["data"]["ready"] == ["review_task"] and completed["data"]["task_id"]
    _tamper(app, instance["id"], completed["seq"], lambda d: d.update(ready=["plan_edit"]))
    report = login("auditor").ok(login("auditor").post(f"/api/instances/{instance['id']}/replay"))
    first = report["first_divergence"]
    assert (first["seq"], first["expected"], first["actual"]) == (
        completed["seq"], {"ready": ["plan_edit"]}, {"ready": ["review_task"]})


def test_tampered_handler_output_diverges(app, login):
    clerk, reviewer, instance = _instance(login)
    history = clerk.history(instance["id"])
    submit = next(e for e in history if e["type"] == "service_task" and e["data"]["topic"] == "plan.submit")
    save = next(e for e in history if e["type"] == "service_task" and e["data"]["topic"] == "plan.save")
    # The recorded plan id is changed: the next handler's inputs are unchanged, but the final data differs.
    _tamper(app, instance["id"], save["seq"], lambda d: d["outputs"].update(unit_level="city"))
    report = login("auditor").ok(login("auditor").post(f"/api/instances/{instance['id']}/replay"))
    assert report["ok"] is False
    assert submit["seq"] > save["seq"]
    assert report["first_divergence"]["type"] == "stored_state"
    assert any("unit_level" in (d.get("keys") or []) for d in report["state"]["differences"])


def test_replay_writes_nothing_and_calls_no_handler(app, login, monkeypatch):
    clerk, reviewer, instance = _instance(login)
    from app import handlers
    monkeypatch.setattr(handlers, "get", lambda topic: pytest.fail(f"replay called handler {topic}"))

    def counts():
        with app.extensions["db"].Session() as s:
            return [s.scalar(select(func.count()).select_from(text(t))) for t in
                    ("history_event", "human_task", "process_instance", "plan", "project", "incident")]
    before = counts()
    with app.extensions["db"].Session() as s:
        blob = s.scalar(text(f"SELECT workflow FROM process_instance WHERE id = {instance['id']}"))
    report = login("auditor").ok(login("auditor").post(f"/api/instances/{instance['id']}/replay"))
    assert report["ok"]
    assert counts() == before
    with app.extensions["db"].Session() as s:
        assert s.scalar(text(f"SELECT workflow FROM process_instance WHERE id = {instance['id']}")) == blob


def test_readonly_session_refuses_writes(app):
    from app.engine.audit import ReadOnlyViolation, readonly_session
    from app.models import Incident
    with pytest.raises(Exception) as info:
        with readonly_session(app.extensions["db"]) as s:
            s.add(Incident(kind="x", error="x", status="open"))
            s.flush()
    assert isinstance(info.value, ReadOnlyViolation)
    with pytest.raises(Exception):  # below the ORM, the database itself refuses
        with readonly_session(app.extensions["db"]) as s:
            s.execute(text("UPDATE app_user SET display_name = 'x'"))
    with app.extensions["db"].Session() as s:
        assert s.scalar(text("SELECT count(*) FROM app_user WHERE display_name = 'x'")) == 0


def test_replay_permissions(login):
    clerk, reviewer, instance = _instance(login)
    assert clerk.post(f"/api/instances/{instance['id']}/replay").status_code == 403
    assert login("analyst").post(f"/api/instances/{instance['id']}/replay").status_code == 200
    assert login("admin").post(f"/api/instances/{instance['id']}/replay").status_code == 200
    assert login("auditor").post("/api/instances/999/replay").status_code == 404


def load_script(name):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"script_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_replay_script(app, login, capsys):
    clerk, reviewer, instance = _instance(login)
    script = load_script("replay")
    code = script.main([str(instance["id"]), "--database", app.config["DATABASE_URL"]])
    out = capsys.readouterr().out
    assert code == 0 and "一致" in out
    assert script.main(["999", "--database", app.config["DATABASE_URL"]]) == 2


def test_zz_every_procedure_was_replayed():
    """Across the scenarios, every procedure in bpmn/ had instances replayed (or was called by one that had)."""
    import re
    from pathlib import Path
    if len(REPLAYED) < len(SCENARIOS):
        pytest.skip("only meaningful after every scenario above ran")
    folder = Path(__file__).resolve().parent.parent / "bpmn"
    bpmn = {p.stem for p in folder.glob("*.bpmn")}
    calls = {key: set(re.findall(r'calledElement="([^"]+)"', (folder / f"{key}.bpmn").read_text(encoding="utf-8")))
             for key in bpmn}
    covered = set().union(*REPLAYED.values())
    while True:
        more = set().union(*(calls.get(k, set()) for k in covered)) - covered
        if not more:
            break
        covered |= more
    assert bpmn <= covered, f"no replay scenario runs {sorted(bpmn - covered)}: add one to SCENARIOS"
