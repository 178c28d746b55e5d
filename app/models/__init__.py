"""SQLAlchemy models: the domain records and the engine tables."""
from . import audit  # noqa: F401 - registers the change collector
from .base import Base, DomainError, NotFound, money, utcnow
from .budget import BudgetLine
from .contract import Contract, ContractRequest, ContractVersion
from .engine import (DecisionDefinition, Deployment, FormDefinition, HistoryEvent, HumanTask, Incident, InstanceRecord,
                     ProcessDefinition, ProcessInstance, StartRequest, Timer, WorkflowArchive)
from .org import ROLES, Unit, UnitGrant, User, UserRole
from .plan import ImportApproval, JointMember, Plan
from .project import Project, ProjectFund
from .requirement import Requirement
from .tender import Tender
from .year_end import BudgetSystemRequest, YearEndItem

# `<record>_id` keys in instance data name these models (DESIGN.md data conventions).
RECORDS = {"plan": Plan, "project": Project, "tender": Tender, "budget_line": BudgetLine, "contract": Contract,
           "requirement": Requirement}

__all__ = ["RECORDS", "Base", "DomainError", "NotFound", "money", "utcnow", "BudgetLine", "Deployment", "FormDefinition",
           "DecisionDefinition", "HistoryEvent", "HumanTask", "Incident", "InstanceRecord", "ProcessDefinition", "ProcessInstance", "StartRequest", "Timer", "WorkflowArchive", "ROLES",
           "Unit", "UnitGrant", "User", "UserRole", "ImportApproval", "Plan", "Project", "ProjectFund", "Tender",
           "Contract", "ContractRequest", "ContractVersion", "JointMember", "Requirement", "BudgetSystemRequest",
           "YearEndItem"]

# Payments, write-offs, acceptance, supplementary contracts, subcontracts and attachments (001 ch.5–7).
from .acceptance import Acceptance  # noqa: E402
from .attachment import Attachment  # noqa: E402
from .payment import Payment, WriteOff  # noqa: E402
from .supplement import Subcontract, SupplementaryContract  # noqa: E402

__all__ += ["Acceptance", "Attachment", "Payment", "WriteOff", "Subcontract", "SupplementaryContract"]

# Announcements, the expert pool and extraction, supervision warnings (001 ch.8, 10, 11).
from .announcement import SingleSourcePublicity, SmeReservationReport  # noqa: E402
from .expert import Expert, ExpertDraw, ExpertExtraction, ExtractedExpert  # noqa: E402
from .supervision import SupervisionRule, SupervisionWarning  # noqa: E402

__all__ += ["SingleSourcePublicity", "SmeReservationReport", "Expert", "ExpertDraw", "ExpertExtraction",
            "ExtractedExpert", "SupervisionRule", "SupervisionWarning"]

# 采购方式变更 and 委托代理采购 (issue 7: 001 §4.4, 004 §3).
from .entrustment import Entrustment  # noqa: E402
from .method_change import MethodChange  # noqa: E402

__all__ += ["Entrustment", "MethodChange"]

# Thresholds as data, project versions, intents, 统招分签 (issue 7: 001 ch.2–3, 004 §3).
from .intent import Intent, IntentDisclosure  # noqa: E402
from .project_lifecycle import ProjectVersion  # noqa: E402
from .threshold import Threshold  # noqa: E402
from .unified import UnifiedPlan, UnifiedResponse  # noqa: E402

__all__ += ["Intent", "IntentDisclosure", "ProjectVersion", "Threshold", "UnifiedPlan", "UnifiedResponse"]

# The working-day calendar (法定节假日, 调休上班) an administrator keeps.
from .workdays import CalendarDay  # noqa: E402

__all__ += ["CalendarDay"]

# Attachment bytes kept in the database, the scheduler's heartbeat (issue 20: operations).
from .attachment import AttachmentContent  # noqa: E402
from .ops import SchedulerHeartbeat  # noqa: E402

__all__ += ["AttachmentContent", "SchedulerHeartbeat"]

# Sign-in state shared by every worker: generated signing keys, server-side sessions, the login throttle.
from .security import AppSecret, AuthSession, LoginFailure, LoginThrottle  # noqa: E402

__all__ += ["AppSecret", "AuthSession", "LoginFailure", "LoginThrottle"]

# External tasks waiting for Camunda 7 workers (issue 18).
from .external import ExternalTask  # noqa: E402

__all__ += ["ExternalTask"]
# Machine clients of the integration API and their call log; the audited history of budget lines (issue 13).
from .budget import BudgetLineChange, BudgetLineMovement  # noqa: E402
from .integration import IntegrationCall, IntegrationClient  # noqa: E402

__all__ += ["BudgetLineChange", "BudgetLineMovement", "IntegrationCall", "IntegrationClient"]
# Task operations (issue 17): notices, copies, saved comments.
from .taskops import InstanceCopy, Notice, NoticePreference, SavedComment, TaskSigner  # noqa: E402

__all__ += ["InstanceCopy", "Notice", "NoticePreference", "SavedComment", "TaskSigner"]

# 供应商库 with GB 32100 统一社会信用代码 checks (issue 13).
from .supplier import Supplier  # noqa: E402

__all__ += ["Supplier"]
from .agency import Agency  # noqa: E402

__all__ += ["Agency"]
