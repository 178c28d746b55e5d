"""app/engine/lint_geometry.py: the drawing reads — flows around shapes and labels, labels clear of shapes and of
each other, joins through gateways — on small diagrams that do and do not cross, and on every shipped diagram."""
import importlib.util
from pathlib import Path

from app.engine.lint_geometry import check_text, segment_crosses

ROOT = Path(__file__).resolve().parent.parent
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'id="d" targetNamespace="http://bpmn.io/schema/bpmn">')
# start (100,200) → 是否通过 gateway → 办理 task → 结束 on one row; 不通过 below it to 已退回
SHAPES = {"g_start": ("startEvent", "开始", (82, 182, 36, 36)),
          "g_check": ("exclusiveGateway", "是否通过", (175, 175, 50, 50)),
          "g_task": ("userTask", "办理", (290, 160, 100, 80)),
          "g_end": ("endEvent", "结束", (462, 182, 36, 36)),
          "g_back": ("endEvent", "已退回", (462, 302, 36, 36))}
FLOWS = {"f1": ("g_start", "g_check", "", [(118, 200), (175, 200)]),
         "f2": ("g_check", "g_task", "通过", [(225, 200), (290, 200)]),
         "f3": ("g_task", "g_end", "", [(390, 200), (462, 200)]),
         "f4": ("g_check", "g_back", "不通过", [(200, 225), (200, 320), (462, 320)])}
LABELS = {"g_start": (78, 225, 44, 14), "g_check": (174, 150, 52, 14), "g_end": (466, 158, 28, 14),
          "g_back": (462, 342, 40, 14),
          "f2": (240, 182, 28, 14), "f4": (310, 324, 40, 14)}


def diagram(shapes=None, flows=None, labels=None):
    shapes, flows, labels = {**SHAPES, **(shapes or {})}, {**FLOWS, **(flows or {})}, {**LABELS, **(labels or {})}
    out = [HEAD, '<bpmn:process id="g" isExecutable="true">']
    for nid, (tag, name, _) in shapes.items():
        refs = "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f, v in flows.items() if v[1] == nid)
        refs += "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f, v in flows.items() if v[0] == nid)
        out.append(f'<bpmn:{tag} id="{nid}" name="{name}">{refs}</bpmn:{tag}>')
    for fid, (source, target, name, _) in flows.items():
        out.append(f'<bpmn:sequenceFlow id="{fid}" name="{name}" sourceRef="{source}" targetRef="{target}" />')
    out.append('</bpmn:process><bpmndi:BPMNDiagram id="dd"><bpmndi:BPMNPlane id="p" bpmnElement="g">')

    def label(nid):
        if nid not in labels:
            return ""
        x, y, w, h = labels[nid]
        return f'<bpmndi:BPMNLabel><dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}" /></bpmndi:BPMNLabel>'
    for nid, (_, _, (x, y, w, h)) in shapes.items():
        out.append(f'<bpmndi:BPMNShape id="{nid}_di" bpmnElement="{nid}"><dc:Bounds x="{x}" y="{y}" width="{w}" '
                   f'height="{h}" />{label(nid)}</bpmndi:BPMNShape>')
    for fid, (_, _, _, points) in flows.items():
        waypoints = "".join(f'<di:waypoint x="{x}" y="{y}" />' for x, y in points)
        out.append(f'<bpmndi:BPMNEdge id="{fid}_di" bpmnElement="{fid}">{waypoints}{label(fid)}</bpmndi:BPMNEdge>')
    out.append("</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>")
    return "".join(out)


def found(text):
    return [(element, message.split(" / ")[-1]) for element, message in check_text(text)]


def test_a_clean_drawing_has_no_findings():
    assert found(diagram()) == []


def test_a_flow_through_a_shape():
    """不通过 drawn over the row and then down through 办理."""
    crossing = found(diagram(flows={"f4": ("g_check", "g_back", "不通过", [(200, 175), (200, 140), (340, 140),
                                                                          (340, 320), (462, 320)])}))
    assert ("f4", "sequence flow crosses g_task") in crossing  # (and the label of 是否通过 above the gateway)
    # the same flow passing just under 办理 (its bottom border is y=240) does not cross it
    assert found(diagram(flows={"f4": ("g_check", "g_back", "不通过", [(200, 225), (200, 250), (480, 250),
                                                                       (480, 302)])})) == []


def test_a_flow_through_its_own_target():
    """Entering 办理 from below and running inside it to the left border (as issue 19 found in plan_application)."""
    inside = found(diagram(flows={"f2": ("g_check", "g_task", "通过", [(225, 200), (250, 200), (250, 280),
                                                                       (320, 280), (320, 200), (290, 200)])},
                           labels={"f2": (228, 240, 28, 14)}))
    assert ("f2", "sequence flow runs through its own g_task") in inside


def test_a_flow_through_a_label():
    """已退回's label put on the line 不通过 runs along."""
    assert found(diagram(labels={"g_back": (400, 313, 40, 14)})) == [("f4", "sequence flow crosses the label of g_back")]


def test_labels_over_shapes_and_labels():
    over_shape = found(diagram(labels={"g_check": (180, 190, 52, 14)}))
    assert ("g_check", "label overlaps g_task") not in over_shape  # (180..232) stops short of 办理 (290)
    assert ("g_check", "label overlaps g_check") not in over_shape  # its own shape does not count
    assert found(diagram(labels={"f2": (270, 182, 28, 14)})) == [("f2", "label overlaps g_task")]
    assert found(diagram(labels={"f2": (190, 150, 28, 14)})) == [("f2", "label overlaps the label of g_check")]


def test_overlapping_shapes():
    """结束 pushed into 办理."""
    overlapping = found(diagram(shapes={"g_end": ("endEvent", "结束", (372, 182, 36, 36))},
                                flows={"f3": ("g_task", "g_end", "", [(390, 240), (390, 250), (390, 218)])},
                                labels={"g_end": (376, 120, 28, 14)}))
    assert ("g_end", "overlaps g_task") in overlapping


def test_a_join_without_a_gateway():
    """Two flows straight into 办理 (bpmnlint fake-join); through a gateway they are fine."""
    joined = found(diagram(flows={"f5": ("g_start", "g_task", "", [(100, 182), (100, 130), (340, 130),
                                                                   (340, 160)])}))
    assert joined == [("g_task", "flows join without a gateway (fake join)")]


def test_segment_crossing_geometry():
    box = (0, 0, 100, 80)
    assert segment_crosses((-10, 40), (110, 40), box)       # straight through
    assert not segment_crosses((-10, 0), (110, 0), box)     # along the border
    assert not segment_crosses((-10, 90), (110, 90), box)   # below
    assert segment_crosses((-10, -10), (50, 40), box)       # diagonal into it
    assert not segment_crosses((100, 40), (200, 40), box)   # leaving from the border


def test_every_shipped_diagram_reads():
    """Every diagram in bpmn/ passes: no crossing, no covered label, no fake join."""
    findings = {p.name: check_text(p.read_bytes()) for p in sorted((ROOT / "bpmn").glob("*.bpmn"))}
    assert {name: f for name, f in findings.items() if f} == {}


def _lint_script():
    spec = importlib.util.spec_from_file_location("lint_bpmn", ROOT / "scripts" / "lint_bpmn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lint_fails_on_a_crossing_and_a_deployment_warns(tmp_path):
    """scripts/lint_bpmn.py (CI) refuses a flow through a shape; a deployment (the Modeler's deploy) keeps working
    and returns the finding as a warning."""
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.engine import deployments
    from app.models import Base

    text = (ROOT / "bpmn" / "plan_revocation.bpmn").read_text(encoding="utf-8")
    shape = text.index('bpmnElement="rev_done"')
    bounds = text.index("<dc:Bounds", shape)
    end = text.index("/>", bounds)
    # move the end event onto the task before it
    first_task = text.index("<dc:Bounds", text.index('bpmnElement="rev_revoke"'))
    task_bounds = text[first_task:text.index("/>", first_task) + 2]
    text = text[:bounds] + task_bounds + text[end + 2:]
    path = tmp_path / "moved.bpmn"  # the shipped plan_revocation.bpmn stays in the context (others call it)
    path.write_text(text, encoding="utf-8")
    lint_bpmn = _lint_script()
    problems = lint_bpmn.lint([path])
    assert any(element == "rev_done" or "rev_done" in message for _, element, message in problems)
    assert lint_bpmn.main([str(path)]) == 1
    assert lint_bpmn.main(["--no-layout", str(path)]) == 0
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        context = [(p.name, p.read_bytes()) for p in sorted((ROOT / "bpmn").glob("*.bpmn")) + sorted((ROOT / "bpmn").glob("*.dmn")) if p.name != path.name]
        context += [(p.name, p.read_bytes()) for p in sorted((ROOT / "forms").glob("*.form"))]
        deployments.deploy(session, context, name="context")
        deployment, _, _ = deployments.deploy(session, [(path.name, path.read_bytes())], name="moved")
        assert any(w.get("kind") == "layout" for w in deployment.warnings)
    engine.dispose()


def test_lint_joins_refuses_a_fake_join():
    """--joins (./test.sh runs it on bpmn/): the loop fixture's five flows into 计数加一 fail; plain lint only
    checks the drawing."""
    lint_bpmn = _lint_script()
    fixture = str(ROOT / "tests" / "fixtures" / "loop_no_wait.bpmn")
    assert lint_bpmn.main([fixture]) == 0
    assert lint_bpmn.main(["--joins", fixture]) == 1
    assert lint_bpmn.main(["--joins", str(ROOT / "bpmn" / "plan_application.bpmn")]) == 0
