"""What Camunda 7 diagrams carry that this service does not run, found before SpiffWorkflow parses them.

SpiffWorkflow stops at the first construct it cannot parse, with an English (or raw Python) message; a user
fixing their diagram then meets the problems one at a time. ``screen`` walks the XML first and reports, per
element, in Chinese and English, what is not run here and what to use instead, then takes the construct out of
the tree so the parse can go on and find every other problem in the same deployment:

- Java: ``camunda:class``/``expression``/``delegateExpression`` execution and task listeners;
- scripts other than our ``name = expression`` lines: Groovy, JavaScript, XSLT, external script resources
  (script tasks, listeners, input/output parameters are reported where they are parsed);
- compensation: compensation boundary/throw events and ``isForCompensation`` activities.

Data stores are ignored as Camunda 7 ignores them at run time: the references and their data associations are
dropped, nothing is reported."""
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
_B, _C = "{%s}" % BPMN, "{%s}" % CAMUNDA
OUR_SCRIPT_FORMATS = {"", "python", "juel"}  # `name = expression` lines, evaluated safely (expressions.py)


def _owner(node):
    """The nearest ancestor (or the node) with an id: the element a message names."""
    while node is not None and not node.get("id"):
        node = node.getparent()
    return node.get("id") if node is not None else None


def _drop(node):
    parent = node.getparent()
    if parent is not None:
        parent.remove(node)


def _drop_data_stores(tree):
    refs = {n.get("id") for n in tree.iter(f"{_B}dataStoreReference")}
    for node in list(tree.iter(f"{_B}dataStoreReference", f"{_B}dataStore")):
        _drop(node)
    for association in list(tree.iter(f"{_B}dataInputAssociation", f"{_B}dataOutputAssociation")):
        linked = {(c.text or "").strip() for c in association if c.tag in (f"{_B}sourceRef", f"{_B}targetRef")}
        if linked & refs:
            _drop(association)


def _listeners(tree, add):
    for tag, what in (("executionListener", "执行监听器 / execution listener"), ("taskListener", "任务监听器 / task listener")):
        for node in list(tree.iter(f"{_C}{tag}")):
            kind = next((a for a in ("class", "delegateExpression", "expression") if node.get(a)), None)
            script = node.find(f"{_C}script")
            if kind:
                detail = f"camunda:{kind}=“{node.get(kind)}”（Java）"
            elif script is not None:
                detail = f"{script.get('scriptFormat') or ''} 脚本"
            else:
                detail = "未设置实现"
            add(_owner(node), f"{what.split(' / ')[0]}使用了 {detail}，本服务不执行 Java 代码或脚本；请删除该监听器，把它做的事改成"
                              f"一个外部任务（Implementation=External 并填写 Topic）或“变量 = 表达式”脚本任务 / "
                              f"{what.split(' / ')[1]} not supported ({kind or 'script'}): use an external task topic "
                              f"or a 'name = expression' script task")
            _drop(node)


def _scripts(tree, add):
    for node in tree.iter(f"{_B}scriptTask"):
        fmt = (node.get("scriptFormat") or "").strip()
        resource = node.get(f"{_C}resource")
        if fmt.lower() in OUR_SCRIPT_FORMATS and not resource:
            continue
        what = f"外部脚本文件 “{resource}”" if resource else f"{fmt} 脚本"
        add(node.get("id"), f"脚本任务使用了 {what}（scriptFormat={fmt or '空'}），本服务只执行“变量 = 表达式”形式的安全脚本，"
                            f"不执行 Groovy、JavaScript、XSLT 等脚本；请改写为“变量 = 表达式”脚本，或改为外部任务（Topic） / "
                            f"{fmt or 'external'} scripts are not supported: use 'name = expression' lines or an "
                            f"external task topic")
        for child in list(node):
            if child.tag == f"{_B}script":
                _drop(child)
        script = node.makeelement(f"{_B}script", {})
        script.text = "# refused at deployment"
        node.append(script)
        node.attrib.pop(f"{_C}resource", None)


def _compensation(tree, add):
    for definition in list(tree.iter(f"{_B}compensateEventDefinition")):
        event = definition.getparent()
        add(event.get("id"), "补偿事件（compensation）本服务不支持；请把撤销步骤画成错误边界事件或条件分支后的普通任务 / "
                             "compensation events are not supported: model the undo as an error boundary path")
        if event.tag == f"{_B}boundaryEvent":
            _drop(event)
        else:
            _drop(definition)
    for node in tree.iter():
        if isinstance(node.tag, str) and node.get("isForCompensation") == "true":
            add(node.get("id"), "补偿处理活动（isForCompensation）本服务不支持；请改为错误边界事件之后的普通任务 / "
                                "compensation handlers are not supported")
            node.attrib.pop("isForCompensation")
    for association in list(tree.iter(f"{_B}association")):
        ids = {n.get("id") for n in tree.iter() if isinstance(n.tag, str) and n.get("id")}
        if association.get("sourceRef") not in ids or association.get("targetRef") not in ids:
            _drop(association)


def screen(tree, filename):
    """Problems ({file, element, message}) for what is not run here; the tree is left parseable."""
    problems = []

    def add(element, message):
        problems.append({"file": filename, "element": element, "message": message})
    _drop_data_stores(tree)
    _listeners(tree, add)
    _scripts(tree, add)
    _compensation(tree, add)
    return problems
