"""Small Camunda 7 diagrams for unit tests, with the diagram layout Camunda Modeler would save (lint wants it)."""
import re

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/'
        'MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/'
        'DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs_{pid}" targetNamespace="http://bpmn.io/schema/'
        'bpmn">\n')
_NODE = re.compile(r'<bpmn:(\w+) id="([^"]+)"')
_FLOW = re.compile(r'<bpmn:sequenceFlow id="([^"]+)"')


def diagram(pid, body, extra="", attrs=""):
    """A one-process diagram: ``body`` is the process content; every flow node gets a shape, every flow an edge."""
    shapes, x = [], 100
    for tag, ident in _NODE.findall(body):
        if tag in ("sequenceFlow", "extensionElements", "conditionExpression", "errorEventDefinition",
                   "messageEventDefinition", "timerEventDefinition", "signalEventDefinition"):
            continue
        shapes.append(f'<bpmndi:BPMNShape id="{ident}_di" bpmnElement="{ident}"><dc:Bounds x="{x}" y="100" '
                      f'width="100" height="80" /></bpmndi:BPMNShape>')
        x += 150
    edges = [f'<bpmndi:BPMNEdge id="{f}_di" bpmnElement="{f}"><di:waypoint x="0" y="0" /><di:waypoint x="1" y="1" />'
             f'</bpmndi:BPMNEdge>' for f in _FLOW.findall(body)]
    return (HEAD.format(pid=pid) + f'<bpmn:process id="{pid}" isExecutable="true" camunda:historyTimeToLive="P30D"'
            f' {attrs}>\n{body}\n</bpmn:process>\n{extra}\n<bpmndi:BPMNDiagram id="D_{pid}"><bpmndi:BPMNPlane '
            f'id="P_{pid}" bpmnElement="{pid}">{"".join(shapes + edges)}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n'
            f'</bpmn:definitions>\n')


def flow(ident, source, target, condition=None):
    cond = (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
            if condition else "")
    return f'<bpmn:sequenceFlow id="{ident}" sourceRef="{source}" targetRef="{target}">{cond}</bpmn:sequenceFlow>'
