"""Draw diagrams the way the Modeler and the web viewer do (bpmn-js in Chromium) and save PNGs, to look at
a layout before committing it:

    python scripts/render_diagrams.py OUT_DIR [files …]     (default: every bpmn/*.bpmn)

Uses the vendored bpmn-js (app/static/vendor) and Playwright with Debian's Chromium (/usr/bin/chromium);
each PNG is the whole diagram at 100 % (one diagram pixel per image pixel), as the Modeler shows it.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "app" / "static" / "vendor" / "bpmn-js"


def render(files, out, chromium="/usr/bin/chromium"):
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    css = "".join((VENDOR / f).read_text() for f in ("diagram-js.css", "bpmn-js.css"))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 2400, "height": 1400})
        page.set_content(f"<style>{css} body{{margin:0}} #c{{width:2400px;height:1400px}}</style><div id=c></div>")
        page.add_script_tag(path=str(VENDOR / "bpmn-navigated-viewer.production.min.js"))
        for path in files:
            size = page.evaluate("""async (xml) => {
                document.getElementById('c').innerHTML = '';
                const viewer = new BpmnJS({container: '#c'});
                await viewer.importXML(xml);
                const canvas = viewer.get('canvas');
                const box = canvas.viewbox().inner;
                const w = Math.ceil(box.width + 60), h = Math.ceil(box.height + 60);
                document.getElementById('c').style.width = w + 'px';
                document.getElementById('c').style.height = h + 'px';
                canvas.resized();
                canvas.viewbox({x: box.x - 30, y: box.y - 30, width: w, height: h});
                return [w, h];
            }""", Path(path).read_text())
            page.set_viewport_size({"width": max(size[0], 200), "height": max(size[1], 100)})
            page.screenshot(path=str(out / (Path(path).stem + ".png")), clip={"x": 0, "y": 0, "width": size[0],
                                                                           "height": size[1]})
            print(json.dumps({"file": str(path), "size": size}))
        browser.close()


if __name__ == "__main__":
    target = Path(sys.argv[1])
    render([Path(p) for p in sys.argv[2:]] or sorted((ROOT / "bpmn").glob("*.bpmn")), target)
