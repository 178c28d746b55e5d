"""统招分签 with funds (seed 001 §2.1.3, §2.1.6; issue 13): a member unit's response is its 立项. Responding registers
the member's own project (采购项目) with its own budget lines (资金构成): the project is created with the response
(amount, quantities) and submitted — its lines occupied — as the response goes to the member's reviewer; the
reviewer's approval registers it; a return releases the lines. When the response no longer counts (未响应 at the
deadline, 取消归集, 终止) the project is withdrawn and its lines released. Each member's contract on the aggregated
result is signed on this project, so payments, acceptance, 结项 and 资金替换/追加/回收 act on the member's own
funds (``member_project``).
"""
import uuid

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
    """The member's reviewer approved: its project is registered (已登记)."""
    project = _project(session, response)
    if project is not None and project.status == "in_review":
        project.register()


def return_response(session, response, comment):
    """The member's reviewer returned the response: the project goes back to draft, its lines released."""
    project = _project(session, response)
    if project is not None and project.status == "in_review":
        project.return_for_edit(session, comment)


def withdraw_response(session, response, reason):
    """The response no longer counts: its project is withdrawn and every line it holds released."""
    project = _project(session, response)
    if project is not None:
        project.withdraw(session, reason)


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
