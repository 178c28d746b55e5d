"""What every request's input must be before any view sees it (API, web UI and /engine-rest alike).

- ``<int:…>`` path segments are ids: a number past ``MAX_ID`` (or longer than ten digits) matches no route, so
  it is a 404 like any id that does not exist — never an overflow in the database.
- Text in the path, the query, a url-encoded form, basic-auth credentials and JSON bodies holds no NUL byte and
  no lone surrogate (PostgreSQL and UTF-8 cannot store them).
- A JSON body is valid, strict JSON (no NaN/Infinity) nested at most ``JSON_MAX_DEPTH`` deep with lists of at
  most ``JSON_MAX_ITEMS``; 100,000 levels are refused here instead of exhausting the parser's recursion.

Refusals are 400 ``INVALID_INPUT`` with a Chinese message. Multipart bodies (attachments, deployments) are
read by their own views, which check their fields with the same helpers.
"""
from flask import request
from werkzeug.routing import IntegerConverter, ValidationError

from ..models.inputs import MAX_ID, check_text, loads


class IdConverter(IntegerConverter):
    """The app's ``int`` converter: 0..MAX_ID (documented as such in the OpenAPI path parameters)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value):
        if len(value) > len(str(MAX_ID)):
            raise ValidationError()  # int() of 5,000 digits would raise ValueError, i.e. a 500
        return super().to_python(value)


def check_request():
    check_text(request.path, "path")
    for key, value in request.args.items(multi=True):
        check_text(key, "query")
        check_text(value, key)
    if request.mimetype == "application/x-www-form-urlencoded":
        for key, value in request.form.items(multi=True):
            check_text(key, "form")
            check_text(value, key)
    auth = request.authorization
    if auth is not None:
        for part in (auth.username, auth.password, auth.token):
            if part:
                check_text(part, "Authorization")
    if request.is_json:
        body = request.get_data(cache=True)
        if body.strip():
            loads(body)


def init_guard(app):
    app.url_map.converters["int"] = IdConverter  # before any blueprint adds its routes
    app.before_request(check_request)
