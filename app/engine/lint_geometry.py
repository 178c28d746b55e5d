"""Is the diagram readable? Checks on the BPMN DI (the layout Camunda Modeler saves), so a diagram stays
readable as analysts change it:

- a sequence flow's segments cross no shape (its own source and target only where it leaves and enters
  them at a border) and no label;
- shapes do not overlap (except a boundary event on its host);
- a label (of an event, gateway or flow) overlaps no shape and no other label;
- flows join only through gateways (bpmnlint ``fake-join``): a task or event with two incoming flows
  hides whether it waits for both.

Works on the XML alone (ElementTree), so it also runs where SpiffWorkflow cannot parse the file.
A label without DI bounds is placed where bpmn-js draws it by default (90×20 below the element, or at the
middle of the flow).
"""
from xml.etree import ElementTree

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
_BPMN = "{%s}" % NS["bpmn"]
# elements whose name bpmn-js draws outside the shape (tasks draw theirs inside)
_EXTERNAL_LABEL = ("Event", "Gateway", "dataObjectReference", "dataStoreReference", "sequenceFlow")
_CONTAINERS = ("participant", "lane", "subProcess", "transaction", "textAnnotation", "group")
FAKE_JOIN = "fake join"
TOLERANCE = 2  # px a segment or box may graze a shape's border (waypoints sit on borders)


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _bounds(node):
    b = node.find("dc:Bounds", NS)
    if b is None:
        return None
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))


def _overlap(a, b, tol=TOLERANCE):
    """Do boxes (x, y, w, h) overlap by more than ``tol`` px in both directions?"""
    return (min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]) > tol and
            min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]) > tol)


def segment_crosses(p, q, box, tol=TOLERANCE):
    """Does segment p–q pass through the inside of ``box`` shrunk by ``tol`` (Liang–Barsky clipping)?"""
    x0, y0, x1, y1 = box[0] + tol, box[1] + tol, box[0] + box[2] - tol, box[1] + box[3] - tol
    if x0 >= x1 or y0 >= y1:
        return False
    dx, dy = q[0] - p[0], q[1] - p[1]
    lo, hi = 0.0, 1.0
    for step, dist in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if step == 0:
            if dist <= 0:
                return False
            continue
        t = dist / step
        if step < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo >= hi:
            return False
    return True


def _inside(point, box, tol=TOLERANCE):
    return box[0] + tol < point[0] < box[0] + box[2] - tol and box[1] + tol < point[1] < box[1] + box[3] - tol


def _default_label(kind, bounds, waypoints):
    """Where bpmn-js puts a label that has no DI bounds: below the element, or at the flow's middle."""
    width, height = 90, 20
    if kind == "sequenceFlow":
        mid = len(waypoints) // 2
        (ax, ay), (bx, by) = waypoints[mid - 1], waypoints[mid]
        cx, cy = (ax + bx) / 2, (ay + by) / 2
        return (cx - width / 2, cy - height / 2, width, height)
    return (bounds[0] + bounds[2] / 2 - width / 2, bounds[1] + bounds[3] + 5, width, height)


class Layout:
    """Shapes, flows and labels of one diagram file, read from its XML and DI."""

    def __init__(self, root):
        self.kind, self.name, self.host, self.ends = {}, {}, {}, {}
        self.incoming = {}
        for process in root.iter(_BPMN + "process"):
            for node in process.iter():
                if not isinstance(node.tag, str) or not node.tag.startswith(_BPMN) or not node.get("id"):
                    continue
                kind, nid = _local(node.tag), node.get("id")
                self.kind[nid], self.name[nid] = kind, (node.get("name") or "").strip()
                if kind == "boundaryEvent":
                    self.host[nid] = node.get("attachedToRef")
                if kind == "sequenceFlow":
                    self.ends[nid] = (node.get("sourceRef"), node.get("targetRef"))
                    self.incoming.setdefault(node.get("targetRef"), []).append(nid)
        self.shapes, self.flows, self.labels = {}, {}, {}
        for shape in root.iter("{%s}BPMNShape" % NS["bpmndi"]):
            element, box = shape.get("bpmnElement"), _bounds(shape)
            if box is None or self.kind.get(element, "participant") in _CONTAINERS:
                continue
            self.shapes[element] = box
            self._label(element, shape, box, None)
        for edge in root.iter("{%s}BPMNEdge" % NS["bpmndi"]):
            element = edge.get("bpmnElement")
            points = [(float(w.get("x")), float(w.get("y"))) for w in edge.findall("di:waypoint", NS)]
            if element in self.ends and len(points) >= 2:
                self.flows[element] = points
                self._label(element, edge, None, points)

    def _label(self, element, node, box, points):
        kind = self.kind.get(element, "")
        if not self.name.get(element) or not any(kind.endswith(k) for k in _EXTERNAL_LABEL):
            return
        label = node.find("bpmndi:BPMNLabel", NS)
        bounds = _bounds(label) if label is not None else None
        self.labels[element] = bounds or _default_label(kind, box, points)

    def attached(self, element):
        """The element and the boundary events on it (a flow may leave or enter across them)."""
        return {element} | {b for b, h in self.host.items() if h == element}


def check_layout(root):
    """[(element, message)] for every readability problem in one parsed diagram (an ElementTree root)."""
    layout, problems = Layout(root), []
    name = lambda e: f"“{layout.name.get(e) or e}”"  # noqa: E731

    for flow, points in layout.flows.items():
        source, target = layout.ends[flow]
        ends = {source, target}
        segments = list(zip(points, points[1:]))
        for element, box in layout.shapes.items():
            if element not in ends and any(segment_crosses(p, q, box) for p, q in segments):
                problems.append((flow, f"连线穿过了 {name(element)}；请绕开它 / sequence flow crosses {element}"))
        for element, inner in ((source, segments[1:]), (target, segments[:-1])):
            box = layout.shapes.get(element)
            if box and (any(segment_crosses(p, q, box) for p, q in inner) or
                        _inside(points[1] if element == source else points[-2], box)):
                problems.append((flow, f"连线从 {name(element)} 内部穿过；请让它从边上进出"
                                       f" / sequence flow runs through its own {element}"))
        for element, box in layout.labels.items():
            if element != flow and any(segment_crosses(p, q, box) for p, q in segments):
                problems.append((flow, f"连线穿过了 {name(element)} 的标签；请移动标签或连线"
                                       f" / sequence flow crosses the label of {element}"))

    shapes = sorted(layout.shapes.items())
    for i, (a, box_a) in enumerate(shapes):
        for b, box_b in shapes[i + 1:]:
            if layout.host.get(a) != b and layout.host.get(b) != a and _overlap(box_a, box_b):
                problems.append((a, f"与 {name(b)} 重叠 / overlaps {b}"))

    labels = sorted(layout.labels.items())
    for i, (a, box_a) in enumerate(labels):
        for element, box in layout.shapes.items():
            if element != a and _overlap(box_a, box):
                problems.append((a, f"标签压住了 {name(element)}；请移动标签 / label overlaps {element}"))
        for b, box_b in labels[i + 1:]:
            if _overlap(box_a, box_b):
                problems.append((a, f"标签与 {name(b)} 的标签重叠 / label overlaps the label of {b}"))

    for element, flows in sorted(layout.incoming.items()):
        kind = layout.kind.get(element, "")
        if len(flows) > 1 and not kind.endswith("Gateway"):
            problems.append((element, f"{len(flows)} 条连线直接汇入 {name(element)}；请先汇入一个排他网关"
                                      f" / flows join without a gateway ({FAKE_JOIN})"))
    return problems


def check(parser, filename, joins=False):
    """Deployment-lint entry: findings (``kind`` "layout") for every tree a SpiffWorkflow parser read from
    ``filename``; fake joins too when ``joins`` (scripts/lint_bpmn.py --joins; they run, so a deployment
    does not mention them)."""
    return [{"file": filename, "element": element, "message": message, "kind": "layout"}
            for tree in parser.trees for element, message in check_layout(_root(tree))
            if joins or FAKE_JOIN not in message]


def _root(tree):
    return tree.getroot() if hasattr(tree, "getroot") else tree


def check_text(text):
    """[(element, message)] for a diagram given as XML text or bytes."""
    return check_layout(ElementTree.fromstring(text.encode() if isinstance(text, str) else text))
