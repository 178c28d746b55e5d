"""The workbench's icons as inline SVG (issue 15): drawn with the text colour, no icon font and no external file,
so they show on every system (a missing font glyph renders as an empty box) and need nothing from the CSP.

``icon(name)`` in templates gives the ``<svg>`` of a menu key (app/web/common.py NAV) or of an action."""
from markupsafe import Markup

# 24×24 outline drawings (stroke = currentColor); one per menu key, a dot for any other.
PATHS = {
    "workbench": '<rect x="3" y="3" width="7" height="7" rx="1"/><rect x="14" y="3" width="7" height="7" rx="1"/>'
                 '<rect x="3" y="14" width="7" height="7" rx="1"/><rect x="14" y="14" width="7" height="7" rx="1"/>',
    "start": '<circle cx="12" cy="12" r="9"/><path d="M12 8v8M8 12h8"/>',
    "budgets": '<rect x="3" y="6" width="18" height="13" rx="2"/><path d="M3 10h18M15 15h3"/>',
    "projects": '<path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z"/>',
    "plans": '<rect x="5" y="4" width="14" height="17" rx="2"/><path d="M9 3h6v3H9zM9 11h6M9 15h6"/>',
    "tenders": '<rect x="3" y="7" width="18" height="13" rx="2"/><path d="M9 7V5h6v2M3 12h18"/>',
    "contracts": '<path d="M6 3h9l4 4v14H6z"/><path d="M15 3v4h4M9 12h7M9 16h7"/>',
    "notices": '<path d="M6 16v-5a6 6 0 0 1 12 0v5l2 2H4z"/><path d="M10 20a2 2 0 0 0 4 0"/>',
    "dry_run": '<circle cx="12" cy="12" r="9"/><path d="M10 8l6 4-6 4z"/>',
    "suppliers": '<path d="M4 21V5l8-2v18M12 8h8v13M3 21h18M7 8h2M7 12h2M7 16h2M15 12h2M15 16h2"/>',
    "budget_lines": '<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M3 9h18M3 14h18M9 4v16"/>',
    "copies": '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3 7l9 6 9-6"/>',
    "batch": '<path d="M4 6l2 2 3-3M4 13l2 2 3-3M12 7h8M12 14h8M4 19h16"/>',
    "integration_clients": '<path d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1"/>'
                           '<path d="M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>',
    "admin": '<path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0"/><circle cx="16" cy="6" r="2"/>'
             '<circle cx="10" cy="12" r="2"/><circle cx="18" cy="18" r="2"/>',
    "reports": '<path d="M4 20h16M7 16v-5M12 16V7M17 16v-8"/>',
    "audit": '<circle cx="11" cy="11" r="6"/><path d="M20 20l-4.5-4.5"/>',
    "year_end": '<rect x="3" y="5" width="18" height="16" rx="2"/><path d="M3 10h18M8 3v4M16 3v4"/>',
    "org_import": '<path d="M12 16V4M7 9l5-5 5 5M4 20h16"/>',
    "menu": '<path d="M4 6h16M4 12h16M4 18h16"/>',
    "file": '<path d="M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7"/>',
}
DEFAULT = '<circle cx="12" cy="12" r="3"/>'


def icon(name, size=16, css="icon"):
    """An inline ``<svg>`` (hidden from screen readers: the link's text names it)."""
    return Markup(f'<svg class="{css}" width="{int(size)}" height="{int(size)}" viewBox="0 0 24 24" fill="none" '
                  f'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
                  f'aria-hidden="true" focusable="false">{PATHS.get(name, DEFAULT)}</svg>')
