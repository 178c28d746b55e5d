"""Lay a diagram out for reading, keeping its routing:

    python scripts/layout_bpmn.py [--no-joins] [files …]      (default: bpmn/*.bpmn)

Keeps the analyst's arrangement (the order of columns and rows the shapes already have: main path on one row
left to right, other paths above or below it) and redraws everything else:
- a flow that joins another without a gateway (bpmnlint fake-join) gets an exclusive join gateway in front
  of its target (the flows keep their ids and conditions; one new flow leads from the gateway on);
- columns and rows are spaced so labels fit between shapes;
- every flow is routed orthogonally around shapes and labels (A* over the channels between shapes, few bends,
  few shared lines);
- labels are placed where they cover nothing.
Then ``app.engine.lint_geometry`` must find nothing (the script says which file still has problems).
Look at the result with scripts/render_diagrams.py, and open it in Camunda Modeler before committing.
"""
import heapq
import re
import sys
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from app.engine.lint_geometry import NS, _overlap, check_layout, segment_crosses  # noqa: E402

B, DI = "{%s}" % NS["bpmn"], "{%s}" % NS["bpmndi"]
GAP_X, GAP_Y, MARGIN, BEND, SHARED, NEAR = 90, 90, 12, 60, 400, 12
FONT = 12  # px per CJK character of an external label (bpmn-js draws them at 11 px)


def label_size(text):
    per_line = 7
    lines = -(-len(text) // per_line) if text else 1
    return (min(len(text), per_line) * FONT + 4, 15 * lines)


def is_gateway(kind):
    return kind.endswith("Gateway")


def is_external(kind):
    return kind.endswith("Event") or is_gateway(kind) or kind == "sequenceFlow"


class Diagram:
    def __init__(self, path):
        self.path = path
        self.tree = etree.parse(str(path))
        self.root = self.tree.getroot()
        self.process = self.root.find("bpmn:process", NS)
        self.plane = self.root.find(".//bpmndi:BPMNPlane", NS)
        self.nodes = {}  # id -> element
        for el in self.process:
            if isinstance(el.tag, str) and el.get("id") and el.tag != B + "sequenceFlow" and el.tag != B + "laneSet":
                if el.find("bpmn:incoming", NS) is not None or el.find("bpmn:outgoing", NS) is not None:
                    self.nodes[el.get("id")] = el
        self.flows = {f.get("id"): f for f in self.process.findall("bpmn:sequenceFlow", NS)}
        self.bounds = {}
        for shape in self.plane.findall("bpmndi:BPMNShape", NS):
            b = shape.find("dc:Bounds", NS)
            self.bounds[shape.get("bpmnElement")] = [float(b.get(k)) for k in ("x", "y", "width", "height")]

    def kind(self, nid):
        return etree.QName(self.nodes[nid]).localname

    def host(self, nid):
        return self.nodes[nid].get("attachedToRef")

    # -- fake joins ---------------------------------------------------------------------------------------
    def add_join_gateways(self):
        added = []
        incoming = {}
        for fid, flow in self.flows.items():
            incoming.setdefault(flow.get("targetRef"), []).append(fid)
        for target, fids in incoming.items():
            if len(fids) < 2 or is_gateway(self.kind(target)):
                continue
            gid, new_flow = f"{target}_join", f"Flow_{target}_join_{target}"
            node = self.nodes[target]
            gateway = etree.Element(B + "exclusiveGateway", id=gid)
            gateway.text, gateway.tail = "\n      ", node.tail
            for fid in fids:
                self.flows[fid].set("targetRef", gid)
                ref = etree.SubElement(gateway, B + "incoming")
                ref.text, ref.tail = fid, "\n      "
            ref = etree.SubElement(gateway, B + "outgoing")
            ref.text, ref.tail = new_flow, "\n    "
            for ref in node.findall("bpmn:incoming", NS):
                if ref.text in fids:
                    node.remove(ref)
            first = node.find("bpmn:incoming", NS)
            first = first if first is not None else node.find("bpmn:outgoing", NS)
            ref = etree.Element(B + "incoming")
            ref.text, ref.tail = new_flow, "\n      "
            first.addprevious(ref) if first is not None else node.append(ref)
            node.addprevious(gateway)
            flow = etree.Element(B + "sequenceFlow", id=new_flow, sourceRef=gid, targetRef=target)
            last = list(self.flows.values())[-1]
            flow.tail = last.tail
            last.addnext(flow)
            self.flows[new_flow] = flow
            self.nodes[gid] = gateway
            lane_ref = self.process.find(f".//bpmn:flowNodeRef[.='{target}']", NS)
            if lane_ref is not None:
                ref = etree.Element(B + "flowNodeRef")
                ref.text, ref.tail = gid, lane_ref.tail
                lane_ref.addprevious(ref)
            x, y, w, h = self.bounds[target]
            # a half column left of its target: spacing() gives it a column of its own
            self.bounds[gid] = [x - 75 - 25, y + h / 2 - 25, 50, 50]
            added.append(gid)
        return added

    # -- columns and rows -------------------------------------------------------------------------------
    def spacing(self):
        free = [n for n in self.nodes if not self.host(n)]

        def clusters(axis):
            centre = {n: self.bounds[n][axis] + self.bounds[n][axis + 2] / 2 for n in free}
            groups = []
            for n in sorted(free, key=lambda n: centre[n]):
                if groups and centre[n] - groups[-1][0] <= 20:
                    groups[-1][1].append(n)
                else:
                    groups.append([centre[n], [n]])
            return [g[1] for g in groups]

        for axis, gap, start in ((0, GAP_X, 100), (1, GAP_Y, 80)):
            pos, prev_half = start, 0
            for i, group in enumerate(clusters(axis)):
                half = max(self.bounds[n][axis + 2] for n in group) / 2
                if axis == 1:
                    half += 10  # the label under a gateway or event
                pos = start + half if i == 0 else pos + prev_half + gap + half
                for n in group:
                    self.bounds[n][axis] = pos - self.bounds[n][axis + 2] / 2
                prev_half = half
        for n in self.nodes:
            if self.host(n):
                self.bounds[n] = self.boundary_bounds(n)

    def boundary_bounds(self, n):
        original = self._original[n]
        host_then, host_now = self._original[self.host(n)], self.bounds[self.host(n)]
        return [host_now[0] + original[0] - host_then[0], host_now[1] + original[1] - host_then[1],
                original[2], original[3]]

    # -- labels of events and gateways ---------------------------------------------------------------------
    def place_node_labels(self):
        self.labels = {}
        for n in self.nodes:
            shapes = [self.bounds[o] for o in self.nodes if o != n]  # corners of its own box are free
            name = (self.nodes[n].get("name") or "").strip()
            if not name or not is_external(self.kind(n)):
                continue
            x, y, w, h = self.bounds[n]
            lw, lh = label_size(name)
            cx = x + w / 2
            below, above = (cx - lw / 2, y + h + 4, lw, lh), (cx - lw / 2, y - lh - 4, lw, lh)
            # beside a corner first: the lines out of the four side middles stay free
            # (14 + 16 px from the centre clears a 50 px diamond's edge and a 36 px circle)
            cy = y + h / 2
            upper_left, upper_right = (cx - 14 - lw, cy - 16 - lh, lw, lh), (cx + 14, cy - 16 - lh, lw, lh)
            lower_left, lower_right = (cx - 14 - lw, cy + 16, lw, lh), (cx + 14, cy + 16, lw, lh)
            candidates = [upper_left, upper_right, lower_left, lower_right, below, above] if \
                is_gateway(self.kind(n)) else [below, above, upper_left, upper_right, lower_left, lower_right]
            if self.host(n):
                hx, hy, hw, hh = self.bounds[self.host(n)]
                candidates = ([(x + w + 2, y + h - 4, lw, lh), (x - lw - 2, y + h - 4, lw, lh)]
                              if y + h / 2 >= hy + hh - 1 else [(x + w + 2, y - lh + 4, lw, lh)]) + candidates
            for box in candidates:
                if not any(_overlap(box, s, 0) for s in shapes) and \
                        not any(_overlap(box, other, 0) for other in self.labels.values()):
                    self.labels[n] = box
                    break
            else:
                self.labels[n] = below

    # -- routing ------------------------------------------------------------------------------------------
    def ports(self, n, outgoing):
        """[(point, direction, cost)]: side middles, the preferred sides cheaper."""
        x, y, w, h = self.bounds[n]
        sides = {"right": ((x + w, y + h / 2), (1, 0)), "left": ((x, y + h / 2), (-1, 0)),
                 "top": ((x + w / 2, y), (0, -1)), "bottom": ((x + w / 2, y + h), (0, 1))}
        if self.host(n):
            hx, hy, hw, hh = self.bounds[self.host(n)]
            side = "bottom" if y + h / 2 >= hy + hh - 1 else "top" if y + h / 2 <= hy + 1 else \
                "right" if x + w / 2 >= hx + hw - 1 else "left"
            return [(sides[side][0], sides[side][1], 0)]
        cost = {"right": 0, "top": 30, "bottom": 30, "left": 120} if outgoing else \
            {"left": 0, "top": 30, "bottom": 30, "right": 120}
        result = []
        for side, (point, direction) in sides.items():
            blocked = any(self.host(b) == n and segment_crosses(point, (point[0] + direction[0] * 20,
                                                                        point[1] + direction[1] * 20),
                                                                 self.bounds[b], 0)
                          for b in self.nodes)
            if not blocked:
                result.append((point, direction, cost[side] + 150 * self.port_use.get((n, side), 0)))
        return result

    def route_all(self):
        self.port_use, self.used, self.routes, self.lines = {}, {}, {}, {}
        obstacles = {n: self.inflate(self.bounds[n], MARGIN) for n in self.nodes}
        label_boxes = {n: self.inflate(b, 3) for n, b in self.labels.items()}
        order = sorted(self.flows, key=lambda f: self.flow_length(f))
        for fid in order:
            flow = self.flows[fid]
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            own = {source, target, self.host(source)}
            blocks = [b for n, b in obstacles.items() if n not in own] + \
                [b for n, b in label_boxes.items()]
            own_boxes = [self.bounds[n] for n in own if n]  # not inflated: ports sit on their borders
            starts, ends = self.ports(source, True), self.ports(target, False)
            path = self.astar(starts, ends, blocks, own_boxes, fid, (source, target))
            if path is None:  # boxed in by labels: route around shapes only
                path = self.astar(starts, ends, [b for n, b in obstacles.items() if n not in own], own_boxes, fid,
                                  (source, target))
            if path is None:
                raise RuntimeError(f"{self.path.name}: no route for {fid}")
            self.routes[fid] = path
            for a, b in zip(path, path[1:]):
                self.used.setdefault(self.key(a, b), set()).add(fid)
                horizontal = a[1] == b[1]
                at, lo, hi = (a[1], *sorted((a[0], b[0]))) if horizontal else (a[0], *sorted((a[1], b[1])))
                self.lines.setdefault((horizontal, int(at // NEAR)), []).append((at, lo, hi, source, target))
            for n, point in ((source, path[0]), (target, path[-1])):
                self.port_use[(n, self.side_of(n, point))] = self.port_use.get((n, self.side_of(n, point)), 0) + 1

    def side_of(self, n, point):
        x, y, w, h = self.bounds[n]
        return "left" if point[0] == x else "right" if point[0] == x + w else "top" if point[1] == y else "bottom"

    def flow_length(self, fid):
        flow = self.flows[fid]
        a, b = self.bounds[flow.get("sourceRef")], self.bounds[flow.get("targetRef")]
        return abs(a[0] - b[0]) + abs(a[1] - b[1])

    @staticmethod
    def inflate(box, m):
        return (box[0] - m, box[1] - m, box[2] + 2 * m, box[3] + 2 * m)

    @staticmethod
    def key(a, b):
        return (a, b) if a <= b else (b, a)

    def beside(self, p, q, ends_of):
        """Cost of running within NEAR px alongside another flow (two lines that read as one), unless the two
        share a source or a target (they fork or merge there)."""
        horizontal = p[1] == q[1]
        at, lo, hi = (p[1], *sorted((p[0], q[0]))) if horizontal else (p[0], *sorted((p[1], q[1])))
        bucket, cost = int(at // NEAR), 0
        for b in (bucket - 1, bucket, bucket + 1):
            for other_at, other_lo, other_hi, source, target in self.lines.get((horizontal, b), ()):
                if 0 < abs(other_at - at) < NEAR and source not in ends_of and target not in ends_of:
                    cost += max(0, min(hi, other_hi) - max(lo, other_lo)) * 2
        return cost

    def astar(self, starts, ends, blocks, own_boxes, fid, ends_of):
        """Cheapest orthogonal path from a start port to an end port over the channels between ``blocks``;
        ``own_boxes`` (source, target) block too but give no channel lines, so no route hugs their borders."""
        xs, ys = set(), set()
        for (px, py), d, _ in starts + ends:
            xs.add(px), ys.add(py)
            xs.add(px + d[0] * (MARGIN + 8)), ys.add(py + d[1] * (MARGIN + 8))
        for bx, by, bw, bh in blocks:
            xs.update((bx - 1, bx + bw + 1)), ys.update((by - 1, by + bh + 1))
        xs, ys = sorted(xs), sorted(ys)
        xs += [(a + b) / 2 for a, b in zip(xs, xs[1:]) if b - a > 30]
        ys += [(a + b) / 2 for a, b in zip(ys, ys[1:]) if b - a > 30]
        xs, ys = sorted(set(xs)), sorted(set(ys))
        xi, yi = {x: i for i, x in enumerate(xs)}, {y: i for i, y in enumerate(ys)}
        blocked = set()  # grid steps ((i, j), (i2, j2)) that pass through a block
        for bx, by, bw, bh in blocks + own_boxes:
            x0, x1, y0, y1 = bx + 0.5, bx + bw - 0.5, by + 0.5, by + bh - 0.5
            ci = [i for i, x in enumerate(xs) if x0 < x < x1]
            cj = [j for j, y in enumerate(ys) if y0 < y < y1]
            si = [i for i in range(len(xs) - 1) if max(xs[i], x0) < min(xs[i + 1], x1)]
            sj = [j for j in range(len(ys) - 1) if max(ys[j], y0) < min(ys[j + 1], y1)]
            blocked.update(((i, j), (i + 1, j)) for i in si for j in cj)
            blocked.update(((i, j), (i, j + 1)) for i in ci for j in sj)

        def free(p, q):
            a, b = (xi[p[0]], yi[p[1]]), (xi[q[0]], yi[q[1]])
            return (min(a, b), max(a, b)) not in blocked

        goal = {}
        for point, d, cost in ends:
            goal[point] = (d, cost)
        heap, best = [], {}

        def estimate(q):
            return min(abs(q[0] - gx) + abs(q[1] - gy) for gx, gy in goal)
        for point, d, cost in starts:
            heapq.heappush(heap, (cost + estimate(point), 0, cost, point, d, None))
        came = {}
        counter = 1
        while heap:
            _, _, g, point, d, prev = heapq.heappop(heap)
            state = (point, d)
            if state in came:
                continue
            came[state] = prev
            if point in goal and d == (-goal[point][0][0], -goal[point][0][1]):
                path, s = [], state
                while s is not None:
                    path.append(s[0])
                    s = came[s]
                return self.simplify(path[::-1])
            i, j = xi[point[0]], yi[point[1]]
            for nd in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                if nd == (-d[0], -d[1]):
                    continue
                ni, nj = i + nd[0], j + nd[1]
                if not (0 <= ni < len(xs) and 0 <= nj < len(ys)):
                    continue
                q = (xs[ni], ys[nj])
                if not free(point, q):
                    continue
                step = abs(q[0] - point[0]) + abs(q[1] - point[1])
                others = self.used.get(self.key(point, q), set()) - {fid}
                cost = g + step + (BEND if nd != d else 0) + (SHARED if others else 0) + self.beside(point, q, ends_of)
                if prev is None and nd != d:
                    continue  # leave the shape straight out of its side
                if q in goal and nd != (-goal[q][0][0], -goal[q][0][1]):
                    continue  # enter the target straight into its side
                if q in goal:
                    cost += goal[q][1]
                if best.get((q, nd), float("inf")) <= cost:
                    continue
                best[(q, nd)] = cost
                counter += 1
                heapq.heappush(heap, (cost + estimate(q), counter, cost, q, nd, state))
        return None

    @staticmethod
    def simplify(path):
        out = [path[0]]
        for p in path[1:]:
            if p == out[-1]:
                continue
            if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
                out[-1] = p
            else:
                out.append(p)
        return out

    # -- flow labels --------------------------------------------------------------------------------------
    def place_flow_labels(self):
        shapes = [self.bounds[n] for n in self.nodes]
        segments = {f: list(zip(p, p[1:])) for f, p in self.routes.items()}
        for fid, path in self.routes.items():
            name = (self.flows[fid].get("name") or "").strip()
            if not name:
                continue
            lw, lh = label_size(name)
            candidates = []
            for (ax, ay), (bx, by) in segments[fid]:
                if ay == by:
                    lo, hi = sorted((ax, bx))
                    for t in (0.5, 0.3, 0.7, 0.15, 0.85):
                        cx = lo + (hi - lo) * t
                        candidates += [(cx - lw / 2, ay - lh - 3, lw, lh), (cx - lw / 2, ay + 3, lw, lh)]
                else:
                    lo, hi = sorted((ay, by))
                    for t in (0.5, 0.3, 0.7, 0.15, 0.85):
                        cy = lo + (hi - lo) * t
                        candidates += [(ax + 4, cy - lh / 2, lw, lh), (ax - lw - 4, cy - lh / 2, lw, lh)]
            for box in candidates:
                if any(_overlap(box, s, 0) for s in shapes) or \
                        any(_overlap(box, other, 0) for other in self.labels.values()):
                    continue
                if any(segment_crosses(p, q, box, 0) for f, segs in segments.items() if f != fid for p, q in segs):
                    continue
                self.labels[fid] = box
                break
            else:
                self.labels[fid] = candidates[0]

    # -- lanes and pools ----------------------------------------------------------------------------------
    def pools(self):
        lanes = self.process.findall(".//bpmn:lane", NS)
        participant = self.root.find(".//bpmn:participant", NS)
        if participant is None:
            return {}
        everything = [self.bounds[n] for n in self.nodes] + list(self.labels.values()) + \
            [(min(p[0] for p in r), min(p[1] for p in r), 0, 0) for r in self.routes.values()] + \
            [(0, 0, max(p[0] for p in r), max(p[1] for p in r)) for r in self.routes.values()]
        right = max(b[0] + b[2] for b in everything) + 40
        boxes, tops = {}, []
        for lane in lanes:
            members = [ref.text for ref in lane.findall("bpmn:flowNodeRef", NS)]
            tops.append((min(self.bounds[m][1] for m in members), max(self.bounds[m][1] + self.bounds[m][3] for m in
                                                                        members), lane.get("id")))
        tops.sort()
        left, edge = 40, None
        ys = [min(b[1] for b in everything) - 40]
        for (top, bottom, _), nxt in zip(tops, tops[1:] + [None]):
            ys.append((bottom + nxt[0]) / 2 if nxt else max(b[1] + b[3] for b in everything) + 40)
        for (top, bottom, lid), y0, y1 in zip(tops, ys, ys[1:]):
            boxes[lid] = (left + 30, y0, right - left - 30, y1 - y0)
        boxes[participant.get("id")] = (left, ys[0], right - left, ys[-1] - ys[0])
        return boxes

    # -- write --------------------------------------------------------------------------------------------
    def write(self):
        pools = self.pools()
        for child in list(self.plane):
            self.plane.remove(child)
        self.plane.text = "\n      "
        items = []

        def bounds(parent, box, tag="Bounds"):
            el = etree.SubElement(parent, "{%s}%s" % (NS["dc"], tag))
            for k, v in zip(("x", "y", "width", "height"), box):
                el.set(k, str(int(round(v))))
            return el

        for pid, box in pools.items():
            shape = etree.Element(DI + "BPMNShape", id=f"{pid}_di", bpmnElement=pid, isHorizontal="true")
            shape.text = "\n        "
            bounds(shape, box).tail = "\n      "
            items.append(shape)
        for n in self.nodes:
            shape = etree.Element(DI + "BPMNShape", id=f"{n}_di", bpmnElement=n)
            if is_gateway(self.kind(n)):
                shape.set("isMarkerVisible", "true")
            shape.text = "\n        "
            last = bounds(shape, self.bounds[n])
            if n in self.labels:
                last.tail = "\n        "
                label = etree.SubElement(shape, DI + "BPMNLabel")
                last = label
                bounds(label, self.labels[n])
            last.tail = "\n      "
            items.append(shape)
        for fid, path in self.routes.items():
            edge = etree.Element(DI + "BPMNEdge", id=f"{fid}_di", bpmnElement=fid)
            edge.text = "\n        "
            last = None
            for x, y in path:
                last = etree.SubElement(edge, "{%s}waypoint" % NS["di"], x=str(int(round(x))), y=str(int(round(y))))
                last.tail = "\n        "
            if fid in self.labels:
                label = etree.SubElement(edge, DI + "BPMNLabel")
                bounds(label, self.labels[fid])
                last = label
            last.tail = "\n      "
            items.append(edge)
        for item in items:
            item.tail = "\n      "
            self.plane.append(item)
        items[-1].tail = "\n    "
        self.tree.write(str(self.path), xml_declaration=True, encoding="UTF-8")
        text = self.path.read_text().replace("<?xml version='1.0' encoding='UTF-8'?>",
                                             '<?xml version="1.0" encoding="UTF-8"?>')
        text = re.sub(r'(?<=[^\s])/>', " />", text)  # as Camunda Modeler writes empty elements
        self.path.write_text(text if text.endswith("\n") else text + "\n")

    def run(self, joins=True):
        self._original = {n: list(b) for n, b in self.bounds.items()}
        added = self.add_join_gateways() if joins else []
        for gid in added:
            self._original[gid] = list(self.bounds[gid])
        self.spacing()
        self.place_node_labels()
        self.route_all()
        self.place_flow_labels()
        self.write()
        return added


def main(argv):
    joins = "--no-joins" not in argv  # test fixtures whose point is a join without a gateway
    files = [Path(p) for p in argv if p != "--no-joins"] or sorted((ROOT / "bpmn").glob("*.bpmn"))
    status = 0
    for path in files:
        added = Diagram(path).run(joins)
        problems = check_layout(etree.parse(str(path)).getroot())
        print(f"{path.name}: {len(added)} join gateway(s), {len(problems)} problem(s)")
        for element, message in problems:
            print(f"  [{element}] {message}")
        status |= bool(problems)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
