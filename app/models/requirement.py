"""Procurement requirements (采购需求): drafted → final → void (作废) when the plan goes away."""
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Audited, Base, DomainError, UTCDateTime, utcnow

STATUSES = {"draft": "编制中", "final": "已完结", "void": "已作废"}


class Requirement(Audited, Base):
    __tablename__ = "requirement"
    __audit_fields__ = ("status",)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    void_reason: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow)

    def edit(self, title, content):
        if self.status != "draft":
            raise DomainError("REQUIREMENT_STATE", f"采购需求当前状态为“{STATUSES[self.status]}”，不能修改")
        self.title, self.content = title or self.title, content or ""

    def finalize(self):
        if self.status != "draft":
            raise DomainError("REQUIREMENT_STATE", f"采购需求当前状态为“{STATUSES[self.status]}”，不能完结")
        if not self.content.strip():
            raise DomainError("REQUIREMENT_EMPTY", "采购需求内容不能为空", field="content", status=400)
        self.status = "final"

    def void(self, reason):
        """作废: when the plan it served is deleted or revoked (seed 000 一(二)(三)(七))."""
        if self.status == "void":
            raise DomainError("REQUIREMENT_VOID", "采购需求已作废")
        self.status, self.void_reason = "void", reason or ""

    def to_dict(self):
        return {"id": self.id, "unit_id": self.unit_id, "project_id": self.project_id, "title": self.title,
                "content": self.content, "status": self.status, "status_label": STATUSES[self.status],
                "void_reason": self.void_reason}
