"""Rules of the plan types beyond project plans (001 §4.1.1–4.1.4, 002 §1, 004 §3), checked when a plan is submitted.

* 框架协议 ``framework``: the method is 框架协议采购; no other plan type may use that method.
* 联合采购 ``joint``: the lead unit's plan lists the member units' projects (``JointMember``); each member project is
  registered, of the plan's category, and its amount counts against that project's free amount.
* 电子卖场/网上超市 ``emall``: the method is 电子卖场 and the plan takes exactly one item of the project's list
  (001 §4.1.2 注: 只能选择一条采购内容清单明细，以此生成一笔订单).
* 无过程 ``no_process``: no transaction procedure follows (001 §4.1 注: 其他采购下的计划除自行采购外，均是线下流程): the
  method is 自行采购, so the 004 §3 limit below applies.
* 合同续签 ``renewal``: services bought with 一签多年 (001 §4.1.3 注): the original contract is the unit's, filed and
  multi-year.
* Every type: 自行采购 is refused at or above the limit from which entrusting an agency is mandatory (004 §3).
"""
from decimal import Decimal

from sqlalchemy import select

from .base import DomainError, money

TYPE_METHODS = {"framework": "framework", "emall": "emall", "no_process": "self"}


def _refuse(message, field, code="PLAN_TYPE_RULE"):
    return DomainError(code, message, field=field)


def check_plan_type(session, plan, project):
    from .plan import METHODS, PLAN_TYPES
    label = PLAN_TYPES.get(plan.plan_type, plan.plan_type)
    required = TYPE_METHODS.get(plan.plan_type)
    if required and plan.method != required:
        raise _refuse(f"{label}计划的采购方式应为“{METHODS[required]}”", "method")
    for kind, method in TYPE_METHODS.items():
        if method != "self" and plan.method == method and plan.plan_type != kind:
            raise _refuse(f"采购方式“{METHODS[method]}”只适用于{PLAN_TYPES[kind]}计划", "method")
    check_items(plan, project)
    if plan.plan_type == "emall" and len(plan.items or []) != 1:
        raise _refuse(f"电子卖场（网上超市）计划只能选择一条采购内容清单明细，以此生成一笔订单（当前选择了 {len(plan.items or [])} 条）",
                      "items")
    if plan.plan_type == "joint":
        check_joint_members(session, plan)
    if plan.plan_type == "renewal":
        check_renewal(session, plan, project)
    if plan.method == "self" or project.implementation_form == "self":  # the plan's method or the project's 实施形式
        from .entrustment import check_self_procurement
        check_self_procurement(session, plan, project)


def check_items(plan, project):
    """Items a plan names are rows of its project's 采购内容清单."""
    known = {(row or {}).get("item_name") for row in project.items or []}
    for row in plan.items or []:
        if (row or {}).get("item_name") not in known:
            raise _refuse(f"采购内容“{(row or {}).get('item_name')}”不在项目 {project.number} 的采购内容清单中", "items")


def check_joint_members(session, plan):
    from .plan import JointMember
    from .project import CATEGORIES, Project
    members = list(session.scalars(select(JointMember).where(JointMember.plan_id == plan.id).order_by(JointMember.id)))
    if not members:
        raise _refuse("联合采购计划须列出至少一个参与单位及其采购项目", "members")
    seen = set()
    for member in members:
        if member.unit_id == plan.unit_id:
            raise _refuse("参与单位不能是牵头单位本身（牵头单位的金额即本计划金额）", "members")
        if member.unit_id in seen:
            raise _refuse(f"参与单位 {member.unit_id} 重复列出", "members")
        seen.add(member.unit_id)
        project = session.get(Project, member.project_id, with_for_update=True)
        if project is None or project.unit_id != member.unit_id:
            raise _refuse(f"项目 {member.project_id} 不是参与单位 {member.unit_id} 的采购项目", "members")
        if project.status != "registered":
            raise _refuse(f"参与单位 {member.unit_id} 的项目 {project.number} 未登记完成，不能参加联合采购", "members")
        if project.category != plan.category:
            raise _refuse(f"参与单位 {member.unit_id} 的项目 {project.number} 品目类别为{CATEGORIES[project.category]}，"
                          f"与联合采购计划的{CATEGORIES[plan.category]}不一致", "members")
        if member.amount <= 0:
            raise _refuse(f"请填写参与单位 {member.unit_id} 的采购金额", "members")
        free = project.free_amount(session)
        if member.amount > free:
            raise _refuse(f"参与单位 {member.unit_id} 的采购金额 {member.amount:,.2f} 元超过其项目 {project.number} "
                          f"可用金额 {free:,.2f} 元", "members", "PROJECT_FREE_SHORT")


def set_joint_members(session, plan, rows):
    """Replace the member list of a draft plan (only joint plans keep members)."""
    from .plan import JointMember
    for member in session.scalars(select(JointMember).where(JointMember.plan_id == plan.id)):
        session.delete(member)
    if plan.plan_type != "joint":
        return
    for i, row in enumerate(r for r in rows or [] if isinstance(r, dict) and any(v not in (None, "") for v in r.values())):
        try:
            unit_id, project_id = int(row.get("unit_id")), int(row.get("project_id"))
        except (TypeError, ValueError):
            raise DomainError("INVALID_INPUT", f"请填写第 {i + 1} 个参与单位的单位编号和项目编号", field="members",
                              status=400) from None
        session.add(JointMember(plan_id=plan.id, unit_id=unit_id, project_id=project_id,
                                amount=money(row.get("amount") or 0, "members")))


def check_renewal(session, plan, project):
    from .contract import STATUSES, Contract
    if project.category != "services":
        raise _refuse("合同续签只适用于服务类一签多年的项目（001 §4.1.3）", "plan_type")
    if not plan.original_contract_id:
        raise _refuse("合同续签计划须选择原合同", "original_contract_id")
    contract = session.get(Contract, plan.original_contract_id)
    if contract is None or contract.unit_id != plan.unit_id:
        raise _refuse(f"原合同 {plan.original_contract_id} 不存在或不属于本单位", "original_contract_id", "NOT_FOUND")
    if contract.status != "filed":
        raise _refuse(f"原合同 {contract.number} 当前状态为“{STATUSES[contract.status]}”，只有已备案的合同可以续签",
                      "original_contract_id")
    if not contract.is_multi_year:
        raise _refuse(f"原合同 {contract.number} 不是一签多年合同，不能续签", "original_contract_id")


def joint_amount(session, project_id, statuses):
    """What joint plans (in ``statuses``) take of a member unit's project."""
    from .plan import JointMember, Plan
    rows = session.scalars(select(JointMember.amount).join(Plan, Plan.id == JointMember.plan_id).where(
        JointMember.project_id == project_id, Plan.plan_type == "joint", Plan.status.in_(statuses)))
    return sum(rows, Decimal("0"))
