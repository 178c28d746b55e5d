"""Write a first draft of a diagram, laid out, in the XML Camunda Modeler writes.

Diagrams are edited in Camunda Modeler; this only saves drawing the first draft of a new
procedure by hand. Describe nodes on a grid and the flows between them, call ``write()``,
then open the file in Modeler to refine it. The .bpmn file, not the draft, is the source from then on.
"""
from xml.sax.saxutils import escape, quoteattr

SIZES = {"startEvent": (36, 36), "endEvent": (36, 36), "exclusiveGateway": (50, 50), "parallelGateway": (50, 50),
         "eventBasedGateway": (50, 50), "intermediateCatchEvent": (36, 36), "boundaryEvent": (36, 36)}
TASK = (100, 80)
COL, ROW, X0, Y0 = 160, 130, 160, 100


def _timer(nid, kind, value):
    return (f'<bpmn:timerEventDefinition id="{nid}_def"><bpmn:{kind} xsi:type="bpmn:tFormalExpression">'
            f"{escape(value)}</bpmn:{kind}></bpmn:timerEventDefinition>")


class Diagram:
    def __init__(self, pid, name, starters=None, doc=None, category=None, startable=True):
        """``category``: 项目/计划/交易/合同/支付/年终 (start menu group); ``starters``: candidate starter groups;
        ``startable=False`` for processes only other processes call (e.g. review)."""
        self.pid, self.name, self.starters, self.doc, self.category = pid, name, starters, doc, category
        self.startable = startable
        self.nodes, self.flows, self.messages, self.errors = [], [], {}, {}

    # -- nodes on a grid (col, row) ----------------------------------------------
    def _add(self, tag, nid, name, col, row, attrs=None, body="", attached=None):
        w, h = SIZES.get(tag, TASK)
        if attached is not None:
            host = self.node(attached)
            x, y = host["x"] + host["w"] - 20 - 40 * col, host["y"] + host["h"] - h / 2
        else:
            cx, cy = X0 + col * COL, Y0 + row * ROW
            x, y = cx - w / 2, cy - h / 2
        self.nodes.append({"tag": tag, "id": nid, "name": name, "x": x, "y": y, "w": w, "h": h,
                           "attrs": attrs or {}, "body": body, "attached": attached})
        return nid

    def node(self, nid):
        return next(n for n in self.nodes if n["id"] == nid)

    def start(self, nid, name, col, row, form=None):
        attrs = {"camunda:formRef": form, "camunda:formRefBinding": "latest"} if form else {}
        return self._add("startEvent", nid, name, col, row, attrs)

    def timer_start(self, nid, name, col, row, kind, value):
        """``kind``: timeCycle / timeDate / timeDuration, written bare as Camunda Modeler writes it."""
        return self._add("startEvent", nid, name, col, row, body=_timer(nid, kind, value))

    def timer_catch(self, nid, name, col, row, kind, value):
        return self._add("intermediateCatchEvent", nid, name, col, row, body=_timer(nid, kind, value))

    def end(self, nid, name, col, row):
        return self._add("endEvent", nid, name, col, row)

    def user(self, nid, name, col, row, groups=None, assignee=None, form=None, due=None):
        attrs = {}
        if assignee:
            attrs["camunda:assignee"] = assignee
        if groups:
            attrs["camunda:candidateGroups"] = groups
        if due:
            attrs["camunda:dueDate"] = due
        if form:
            attrs["camunda:formRef"] = form
            attrs["camunda:formRefBinding"] = "latest"
        return self._add("userTask", nid, name, col, row, attrs)

    def service(self, nid, name, col, row, topic, inputs=None):
        body = ""
        if inputs:
            params = "".join(f'<camunda:inputParameter name="{k}">{escape(v)}</camunda:inputParameter>'
                             for k, v in inputs.items())
            body = f"<bpmn:extensionElements><camunda:inputOutput>{params}</camunda:inputOutput></bpmn:extensionElements>"
        return self._add("serviceTask", nid, name, col, row, {"camunda:type": "external", "camunda:topic": topic}, body)

    def script(self, nid, name, col, row, script):
        return self._add("scriptTask", nid, name, col, row, {"scriptFormat": "python"},
                         f"<bpmn:script>{escape(script)}</bpmn:script>")

    def call(self, nid, name, col, row, called, ins=None, passed=(), returned=(), all_in=False, all_out=False):
        """Camunda 7 passes only what is mapped: ``ins`` {target: sourceExpression}, ``passed`` / ``returned``
        variable names copied in / out under the same name, ``all_in`` / ``all_out`` for variables="all"."""
        maps = ['<camunda:in variables="all" />'] if all_in else []
        maps += [f"<camunda:in source={quoteattr(v)} target={quoteattr(v)} />" for v in passed]
        maps += [f"<camunda:in sourceExpression={quoteattr(v)} target={quoteattr(k)} />" for k, v in (ins or {}).items()]
        maps += ['<camunda:out variables="all" />'] if all_out else []
        maps += [f"<camunda:out source={quoteattr(v)} target={quoteattr(v)} />" for v in returned]
        body = f"<bpmn:extensionElements>{''.join(maps)}</bpmn:extensionElements>" if maps else ""
        return self._add("callActivity", nid, name, col, row, {"calledElement": called}, body)

    def xor(self, nid, name, col, row, default=None):
        return self._add("exclusiveGateway", nid, name, col, row, {"default": default} if default else {})

    def parallel(self, nid, name, col, row):
        return self._add("parallelGateway", nid, name, col, row)

    def boundary_error(self, nid, name, host, code=None, slot=0):
        ref = None
        if code:
            ref = f"Error_{code}"
            self.errors[ref] = code
        body = f'<bpmn:errorEventDefinition id="{nid}_def"' + (f' errorRef="{ref}"' if ref else "") + " />"
        return self._add("boundaryEvent", nid, name, slot, 0, {"attachedToRef": host}, body, attached=host)

    def boundary_message(self, nid, name, host, message, slot=0, senders=None):
        ref = f"Message_{message}"
        self.messages[ref] = message
        body = ""
        if senders:
            body = ('<bpmn:extensionElements><camunda:properties><camunda:property name="candidateGroups" '
                    f'value="{senders}" /></camunda:properties></bpmn:extensionElements>')
        body += f'<bpmn:messageEventDefinition id="{nid}_def" messageRef="{ref}" />'
        return self._add("boundaryEvent", nid, name, slot, 0, {"attachedToRef": host}, body, attached=host)

    def timer_boundary(self, nid, name, host, duration, slot=0, interrupting=True):
        body = _timer(nid, "timeDuration", duration)
        attrs = {"attachedToRef": host}
        if not interrupting:
            attrs["cancelActivity"] = "false"
        return self._add("boundaryEvent", nid, name, slot, 0, attrs, body, attached=host)

    def flow(self, src, tgt, cond=None, name=None, fid=None, via=None):
        """``via``: 'below' or 'above' routes a back edge around the nodes in between."""
        fid = fid or f"Flow_{src}_{tgt}"
        self.flows.append({"id": fid, "src": src, "tgt": tgt, "cond": cond, "name": name, "via": via})
        return fid

    # -- output ----------------------------------------------------------------
    def _waypoints(self, f):
        s, t = self.node(f["src"]), self.node(f["tgt"])
        sx, sy = s["x"] + s["w"], s["y"] + s["h"] / 2
        if s["attached"]:
            sx, sy = s["x"] + s["w"] / 2, s["y"] + s["h"]
        tx, ty = t["x"], t["y"] + t["h"] / 2
        if f["via"] in ("below", "above"):
            bottom = f["via"] == "below"
            lane = max(s["y"] + s["h"], t["y"] + t["h"]) + 40 if bottom else min(s["y"], t["y"]) - 40
            sxc, txc = s["x"] + s["w"] / 2, t["x"] + t["w"] / 2
            syb = s["y"] + s["h"] if bottom else s["y"]
            tyb = t["y"] + t["h"] if bottom else t["y"]
            return [(sxc, syb), (sxc, lane), (txc, lane), (txc, tyb)]
        if s["attached"]:
            if t["x"] <= sx <= t["x"] + t["w"]:  # straight down into a node below the host
                return [(sx, sy), (sx, t["y"])]
            return [(sx, sy), (sx, ty), (tx, ty)]
        scx, tcx = s["x"] + s["w"] / 2, t["x"] + t["w"] / 2
        if abs(scx - tcx) < 1:  # same column: straight up or down
            down = t["y"] > s["y"]
            return [(scx, s["y"] + s["h"] if down else s["y"]), (tcx, t["y"] if down else t["y"] + t["h"])]
        if abs(sy - ty) < 1:
            if tx < sx:  # same row, leftwards: from the left side into the right side
                return [(s["x"], sy), (t["x"] + t["w"], ty)]
            return [(sx, sy), (tx, ty)]
        if s["tag"].endswith("Gateway"):
            gx = s["x"] + s["w"] / 2
            gy = s["y"] + s["h"] if ty > sy else s["y"]
            return [(gx, gy), (gx, ty), (tx if tx > gx else t["x"] + t["w"], ty)]
        mid = (sx + tx) / 2
        return [(sx, sy), (mid, sy), (mid, ty), (tx, ty)]

    def xml(self):
        out = ['<?xml version="1.0" encoding="UTF-8"?>',
               '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
               'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
               'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
               'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:modeler="http://camunda.org/schema/modeler/1.0" '
               f'id="Definitions_{self.pid}" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" '
               'exporterVersion="5.28.0" modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.22.0">']
        starters = f' camunda:candidateStarterGroups="{self.starters}"' if self.starters else ""
        if not self.startable:
            starters += ' camunda:isStartableInTasklist="false"'
        out.append(f'  <bpmn:process id="{self.pid}" name={quoteattr(self.name)} isExecutable="true"'
                   f'{starters} camunda:historyTimeToLive="P3650D">')
        if self.doc:
            out.append(f"    <bpmn:documentation>{escape(self.doc)}</bpmn:documentation>")
        if self.category:
            out.append('    <bpmn:extensionElements><camunda:properties><camunda:property name="category" '
                       f'value={quoteattr(self.category)} /></camunda:properties></bpmn:extensionElements>')
        for n in self.nodes:
            attrs = "".join(f" {k}={quoteattr(v)}" for k, v in n["attrs"].items())
            name = f" name={quoteattr(n['name'])}" if n["name"] else ""
            inner = []
            if n["body"].startswith("<bpmn:extensionElements>"):
                ext_end = n["body"].index("</bpmn:extensionElements>") + len("</bpmn:extensionElements>")
                inner.append(n["body"][:ext_end])
                rest = n["body"][ext_end:]
            else:
                rest = n["body"]
            inner += [f"<bpmn:incoming>{f['id']}</bpmn:incoming>" for f in self.flows if f["tgt"] == n["id"]]
            inner += [f"<bpmn:outgoing>{f['id']}</bpmn:outgoing>" for f in self.flows if f["src"] == n["id"]]
            if rest:
                inner.append(rest)
            out.append(f'    <bpmn:{n["tag"]} id="{n["id"]}"{name}{attrs}>')
            out += [f"      {line}" for line in inner]
            out.append(f'    </bpmn:{n["tag"]}>')
        for f in self.flows:
            name = f" name={quoteattr(f['name'])}" if f["name"] else ""
            head = f'    <bpmn:sequenceFlow id="{f["id"]}"{name} sourceRef="{f["src"]}" targetRef="{f["tgt"]}"'
            if f["cond"]:
                out.append(head + ">")
                out.append(f'      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(f["cond"])}'
                           "</bpmn:conditionExpression>")
                out.append("    </bpmn:sequenceFlow>")
            else:
                out.append(head + " />")
        out.append("  </bpmn:process>")
        for ref, name in self.messages.items():
            out.append(f'  <bpmn:message id="{ref}" name="{name}" />')
        for ref, code in self.errors.items():
            out.append(f'  <bpmn:error id="{ref}" name="{code}" errorCode="{code}" />')
        out.append('  <bpmndi:BPMNDiagram id="BPMNDiagram_1">')
        out.append(f'    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="{self.pid}">')
        for f in self.flows:
            out.append(f'      <bpmndi:BPMNEdge id="{f["id"]}_di" bpmnElement="{f["id"]}">')
            out += [f'        <di:waypoint x="{x:.0f}" y="{y:.0f}" />' for x, y in self._waypoints(f)]
            out.append("      </bpmndi:BPMNEdge>")
        for n in self.nodes:
            extra = ' isMarkerVisible="true"' if n["tag"] == "exclusiveGateway" else ""
            out.append(f'      <bpmndi:BPMNShape id="{n["id"]}_di" bpmnElement="{n["id"]}"{extra}>')
            out.append(f'        <dc:Bounds x="{n["x"]:.0f}" y="{n["y"]:.0f}" width="{n["w"]}" height="{n["h"]}" />')
            if n["tag"] not in ("userTask", "serviceTask", "scriptTask", "callActivity") and n["name"]:
                out.append(f'        <bpmndi:BPMNLabel><dc:Bounds x="{n["x"] - 20:.0f}" y="{n["y"] + n["h"] + 5:.0f}" '
                           f'width="{n["w"] + 40}" height="27" /></bpmndi:BPMNLabel>')
            out.append("      </bpmndi:BPMNShape>")
        out.append("    </bpmndi:BPMNPlane>")
        out.append("  </bpmndi:BPMNDiagram>")
        out.append("</bpmn:definitions>")
        return "\n".join(out) + "\n"

    def write(self, path):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.xml())
