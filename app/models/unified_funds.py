"""统招分签 with funds (seed 001 §2.1.3, §2.1.6; issue 13): a member unit's response is its 立项. Responding registers
the member's own project (采购项目) with its own budget lines (资金构成): the project is created with the response
(amount, quantities) and submitted — its lines occupied — as the response goes to the member's reviewer; the
reviewer's approval registers it; a return releases the lines. When the response no longer counts (未响应 at the
deadline, 取消归集, 终止) the project is withdrawn and its lines released. Each member's contract on the aggregated
result is signed on this project, so payments, acceptance, 结项 and 资金替换/追加/回收 act on the member's own
funds (``member_project``).
"""
import uuid
from decimal import Decimal

from sqlalchemy import select

from .base import DomainError
from .project import Project


def _lead_form(session, plan):
    lead = session.get(Project, plan.project_id) if plan.project_id else None
    return lead.implementation_form if lead is not None and lead.implementation_form != "self" else "agency"


def register_response(session, plan, response, funds, user_id):
    """响应 submitted (``response.respond`` passed): the member's own project, created (or the draft a return left
    edited) with the response and ``funds`` [{budget_line_id, amount}], then submitted — every line of the member's
    unit and the plan's year, 有效, with its share free, or the whole response is refused."""
    values = {"name": f"{plan.name}（统招分签）"[:200], "category": plan.category, "amount": response.amount,
              "region": "", "implementation_form": _lead_form(session, plan), "is_government_procurement": True,
              "justification": f"统招分签项目 {plan.number} 的分签单位立项（001 §2.1.3），由牵头单位统一组织采购",
              "items": [dict(row) for row in response.quantities or []] or [{"item_name": plan.name}]}
    project = session.get(Project, response.project_id, with_for_update=True) if response.project_id else None
    if project is None or project.status != "draft":
        project = Project(number=uuid.uuid4().hex[:20], unit_id=response.unit_id, year=plan.year, created_by=user_id,
                          status="draft", **values)
        session.add(project)
        session.flush()
        project.number = f"XM{plan.year}{project.id:06d}"
        response.project_id = project.id
    else:
        for key, value in values.items():
            setattr(project, key, value)
    project.set_funds(session, funds)
    project.submit(session)
    return project


def _project(session, response):
    return session.get(Project, response.project_id, with_for_update=True) if response.project_id else None


def accept_response(session, response):
    """The member's reviewer approved: its project is registered (已登记). The lead unit's own response project
    becomes the project its 统招分签 plan is applied on (001 §4.1.4) when the lead named none."""
    from .unified import UnifiedPlan
    project = _project(session, response)
    if project is not None and project.status == "in_review":
        project.register()
        plan = session.get(UnifiedPlan, response.unified_plan_id)
        if plan.unit_id == response.unit_id and plan.project_id is None:
            plan.project_id = project.id


def return_response(session, response, comment):
    """The member's reviewer returned the response: the project goes back to draft, its lines released."""
    project = _project(session, response)
    if project is not None and project.status == "in_review":
        project.return_for_edit(session, comment)


def withdraw_response(session, response, reason):
    """The response no longer counts: its project is withdrawn and every line it holds released."""
    from .unified import UnifiedPlan
    project = _project(session, response)
    if project is not None:
        project.withdraw(session, reason)
        plan = session.get(UnifiedPlan, response.unified_plan_id)
        if plan.project_id == project.id:
            plan.project_id = None


def member_project(session, plan, unit_id):
    """The registered project of ``unit_id``'s counted response (已响应) to ``plan``, or a refusal."""
    from .unified import UnifiedResponse
    response = session.scalars(select(UnifiedResponse).where(UnifiedResponse.unified_plan_id == plan.id,
                                                             UnifiedResponse.unit_id == unit_id)).first()
    project = session.get(Project, response.project_id) if response is not None and response.project_id else None
    if response is None or response.status != "responded" or project is None or project.status != "registered":
        raise DomainError("NOT_A_MEMBER", f"本单位没有已响应并已登记立项的统招分签项目 {plan.number}，不能签订该项目的合同",
                          field="plan_id", status=403)
    return response, project


# -- the plan on the aggregated result and each member's share (001 §4.1.4, §2.1.6) ------------------------------
def aggregated_for(session, plan):
    """The aggregated unified plan a 统招分签 plan (on the lead's project) buys for, or None."""
    from .unified import UnifiedPlan
    return session.scalars(select(UnifiedPlan).where(UnifiedPlan.project_id == plan.project_id,
                                                     UnifiedPlan.status == "aggregated")
                           .order_by(UnifiedPlan.id.desc())).first()


def check_unified_plan(session, plan):
    """A 统招分签 plan is applied on the lead's project named on an aggregated unified plan and buys at most the
    aggregated amount (归集金额): each member's share is funded by its own project, not by the lead's."""
    unified = aggregated_for(session, plan)
    if unified is None:
        raise DomainError("PLAN_TYPE_RULE", "统招分签计划须选择已归集的统招分签项目所关联的牵头单位采购项目", field="project_id")
    if plan.amount > unified.total_amount:
        raise DomainError("PROJECT_FREE_SHORT", f"计划金额 {plan.amount:,.2f} 元超过统招分签项目 {unified.number} 的归集金额 "
                                                f"{unified.total_amount:,.2f} 元", field="amount")


def _counted_response(session, project):
    """(response, unified plan) when ``project`` is a member's project of a counted response (已响应)."""
    from .unified import UnifiedPlan, UnifiedResponse
    response = session.scalars(select(UnifiedResponse).where(UnifiedResponse.project_id == project.id,
                                                             UnifiedResponse.status == "responded")).first()
    if response is None:
        return None, None
    return response, session.get(UnifiedPlan, response.unified_plan_id)


def member_plans(session, project, statuses=("draft", "in_review", "filed", "used")):
    """Plans on the aggregated result a member's project takes part in (the lead's 统招分签 plans)."""
    from .plan import Plan
    response, unified = _counted_response(session, project)
    if response is None or unified.project_id is None or unified.project_id == project.id:
        return []
    return list(session.scalars(select(Plan).where(Plan.project_id == unified.project_id, Plan.plan_type == "unified",
                                                   Plan.status.in_(statuses))))


def member_share(session, project):
    """What the aggregated result takes of a member's project: once contracts are signed on it, what they take
    (so 资金回收 after filing gives back the rest, 001 §2.1.6); before, its response amount while a 统招分签 plan
    on the aggregate is live."""
    from .contract import Contract, OCCUPYING as CONTRACT_LIVE
    from .plan import OCCUPYING
    response, unified = _counted_response(session, project)
    if response is None or unified.project_id is None:
        return Decimal("0")
    rows = list(session.execute(select(Contract.amount, Contract.status, Contract.paid_amount).where(
        Contract.project_id == project.id, Contract.status.in_(CONTRACT_LIVE + ("terminated",)))))
    if rows:
        return sum((amount if status in CONTRACT_LIVE else paid for amount, status, paid in rows), Decimal("0"))
    from .plan import Plan
    used = session.scalar(select(Plan.id).where(Plan.project_id == unified.project_id, Plan.plan_type == "unified",
                                                Plan.status.in_(OCCUPYING)).limit(1))
    return response.amount if used is not None else Decimal("0")


def funds_unified(session, project):
    """Whether a unified plan names ``project`` as the lead's project its 统招分签 plans are applied on."""
    from .unified import UnifiedPlan
    return session.scalar(select(UnifiedPlan.id).where(UnifiedPlan.project_id == project.id,
                                                       UnifiedPlan.status != "deleted").limit(1)) is not None


# -- each member signs its own contract on the aggregated result (001 §2.1: 各分签单位与供应商单独签订合同) -------------
def member_of_plan(session, plan, unit_id):
    """The registered project of ``unit_id``'s counted response to the aggregated unified plan a 统招分签 ``plan``
    buys for — the project a member's contract on that plan is signed on — or None."""
    if plan.plan_type != "unified" or plan.unit_id == unit_id:
        return None
    from .unified import UnifiedResponse
    unified = aggregated_for(session, plan)
    if unified is None:
        return None
    response = session.scalars(select(UnifiedResponse).where(UnifiedResponse.unified_plan_id == unified.id,
                                                             UnifiedResponse.unit_id == unit_id,
                                                             UnifiedResponse.status == "responded")).first()
    project = session.get(Project, response.project_id) if response is not None and response.project_id else None
    return project if project is not None and project.status == "registered" else None


def check_member_share(session, contract, project, amount):
    """A member's contracts on the aggregated result stay within its own project (its response and funds)."""
    from .contract import Contract, OCCUPYING
    others = session.scalars(select(Contract.amount).where(Contract.project_id == project.id,
                                                           Contract.status.in_(OCCUPYING), Contract.id != contract.id))
    taken = sum(others, Decimal("0"))
    if amount + taken > project.amount:
        raise DomainError("OVER_PLAN_AMOUNT", f"合同金额 {amount:,.2f} 元超过本单位统招分签项目 {project.number} 的金额 "
                                              f"{project.amount:,.2f} 元" + (f"（已签订其他合同 {taken:,.2f} 元）" if taken else ""),
                          field="amount")
