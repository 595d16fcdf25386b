"""The hostile crawl: every GET route of app.url_map and every POST form, as anonymous and as each demo account.

The world (tests/hostile/crawl_support.py) is the demo data with records of every kind in two sibling subtrees:
南城街道 ("own": the demo coordinator's team, the demo reviewer's town) and 东城街道 ("other": names planted in
OTHER_NAMES). The demo administrator holds the whole city, so 东城 is inside their rights: their pages are checked
for errors and ID numbers, not for 东城's names.

GET (test_get_crawl): each rule's <int:...> parts are filled with 0, -1, 2^31 (past PostgreSQL's integer, the type
of every id), 2^63, a missing id, the ids of 东城's records (and of 南城's, so the pages a role may see are rendered
too), its string parts with junk and with 东城's real tokens; the pages that answer are asked again with a hostile
query string, with NUL in it, and their filter forms (GET) one field at a time. Every answer: no 500; no planted 东城
name outside PUBLIC_PAGES for anyone below the city; no whole ID number outside ID_NUMBER_PAGES.

POST: every non-API form (the forms found on the crawled pages, with their fields and defaults, or FORMS_NOT_ON_PAGES)
gets hypothesis-generated bodies (test_post_forms): any Unicode, control characters, raw bytes, long strings and a
1 MB one, fields dropped, repeated and invented, junk files, starting from a body a person could send; each field in
turn set to the values that broke PostgreSQL (test_each_form_field_with_edge_values); and, with CSRF on, wrong tokens
(test_post_forms_refuse_a_wrong_csrf_token). No 500; no leak in the answer; a refusal (4xx, or the form shown again)
changes no table's row count (but WRITES_ON_REFUSAL). The examples are derandomized: the same bodies on every run.

`-s` prints the counts (routes, roles, requests, forms, examples).
"""

from __future__ import annotations

import io
import itertools
import os
import re
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, timedelta
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask import g
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from api.tokens import create_token
from app import dispose_engines
from app.extensions import db as _db
from app.security import demo_id_number
from app.timeutil import local_today, utcnow
from composition import create_app
from demo.data import DEMO_PASSWORD
from tests.hostile import crawl_support as support
from tests.hostile.crawl_support import OTHER_NAMES, OWN_NAMES, ROLES, World
from volunteers.imports.importer import EXAMPLE_ID_NUMBER

PEOPLE = ("anonymous", *ROLES)
# Roles whose rights stop outside 东城: a planted name in their pages is a leak. The administrator holds the city.
BELOW_CITY = ("anonymous", "reviewer", "coordinator", "volunteer")

# GET rules not crawled, each with its reason.
SKIPPED_RULES = {
    "/static/<path:filename>": "files of static/, served from disk: no database, no ids, no user data",
}

# published events, their positions and shifts; a river segment's patrols are published events named after it
PUBLISHED = frozenset({"event", "position", "meeting_point", "past_event", "segment"})
SEGMENT = frozenset({"segment", "chief", "meeting_point"})  # a segment, its river chief, its schedule's meeting point
# Routes where some of 东城's planted names may legitimately appear to people outside 东城: rule -> (which names of
# OTHER_NAMES, why).
PUBLIC_PAGES: dict[str, tuple[frozenset[str], str]] = {
    "/events/": (PUBLISHED, "the list of published events is open to every volunteer of the city"),
    "/events/<int:event_id>": (PUBLISHED, "a published event, its positions and shifts: any volunteer may sign up"),
    "/api/v1/events": (PUBLISHED, "the API's list of published events (the same as /events/)"),
    "/api/v1/events/<int:event_id>": (PUBLISHED, "a published event, as on /events/<id>"),
    "/api/v1/events/<int:event_id>/shifts": (PUBLISHED, "a published event's shifts, as on /events/<id>"),
    "/api/v1/positions/<int:position_id>": (PUBLISHED, "a published event's position, as on /events/<id>"),
    "/api/v1/shifts/<int:shift_id>": (PUBLISHED, "a published event's shift, as on /events/<id>"),
    "/patrols/": (SEGMENT, "the city's river segments and their volunteer river chiefs: any volunteer may patrol"),
    "/patrols/segments/<int:segment_id>": (SEGMENT, "a segment, its river chief and its patrols' schedule"),
    "/patrols/teams/<int:team_id>": (SEGMENT, "a team's segments, as on /patrols/"),
    "/k/<token>": (PUBLISHED, "the kiosk link of a published event: the QR code hangs at the venue"),
    "/calendar/<token>.ics": (
        PUBLISHED,
        "a volunteer's private feed: the token is the secret (a capability URL); it lists the shifts' events",
    ),
}

OWN, ANY = "own", "any"
# Pages that may show a whole ID number: rule -> (whose: OWN for the viewer's own number, or the numbers allowed;
# why). Everywhere else a whole number (of anyone: a known one, or any 18 characters with a right check digit) is
# a leak; staff see the masked form (head and tail).
ID_NUMBER_PAGES: dict[str, tuple[str | frozenset[str], str]] = {
    "/me": (OWN, "the volunteer's own profile shows their own number (volunteers/accounts/routes/account.py)"),
    "/volunteers/<int:user_id>": (OWN, "the same profile page, opened by its owner through their user id"),
    "/admin/import/template": (
        frozenset({EXAMPLE_ID_NUMBER}),
        "the template's example row: a made-up number of nobody (volunteers/imports/importer.py), skipped on import",
    ),
    # POST answers (the form fuzz checks them too)
    "/volunteers/<int:user_id>/id-number": (
        ANY,
        "an administrator's reveal: shows the whole number once, and the look is audited (can_reveal_id_number)",
    ),
    "/hours/membership/approved.xlsx": (
        ANY,
        "the League's export of approved members carries whole numbers where can_export_id_numbers allows",
    ),
}

ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
JUNK_STRINGS = ["x", "0", "-1", "外区", "<script>alert(1)</script>", "' OR '1'='1", "%00", "a" * 300, "..%2F..%2Fetc"]
MISSING = 10**9
# 2^31: PostgreSQL's integer ends at 2^31 - 1 (every id column); 2^63: SQLite's and bigint's end
BOUNDARY_IDS = {"zero": "0", "minus-one": "-1", "2^31": str(2**31), "2^63": str(2**63), "missing": str(MISSING)}
# The query parameters the pages read (request.args and the filter forms), each sent twice with hostile values
QUERY_NAMES = [
    *("page", "day", "year", "status", "organization", "town", "team", "shift_id", "shift", "river", "quota", "q"),
    *("next", "lang", "date_from", "date_to", "town_id", "kind", "skill_id", "since", "action", "actor_mobile"),
    *("entry_id", "event_id", "role_name", "search", "organization_id", "user_id"),
]
QUERY_VALUES = [str(2**31), str(10**20), "0001-01-01", "-1", "外区", "NaN", "9999-12-31", "", "1e309", "２"]
NUL_QUERY = "?q=%00&page=1%002"  # refused as a whole (no database stores NUL), so apart from the others


# what each field of a filter form (GET) gets in turn: numbers past PostgreSQL's integer and any database's, dates
# whose UTC time falls outside the calendar, a long text
FILTER_VALUES = [str(2**31), str(10**20), "0001-01-01", "9999-12-31", "x" * 300]


def _filter_sweep(people: People, shown: dict[str, str], swept: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """(person, URL): the GET forms of the pages shown, each field set in turn to each FILTER_VALUES (once per
    person and form action)."""
    urls = []
    for who, url in shown.items():
        response = people.request(who, "GET", url)
        if "html" not in (response.content_type or ""):
            continue
        for form in support.post_forms(response.get_data(as_text=True), url, method="get"):
            if (who, form.action) in swept:
                continue
            swept.add((who, form.action))
            names = sorted(form.names)
            defaults = dict(form.fields)
            for name in names:
                for value in FILTER_VALUES:
                    query = urlencode([(n, value if n == name else defaults.get(n, "")) for n in names])
                    urls.append((who, f"{urlsplit(form.action).path}?{query}"))
    return urls


def _hostile_query(shift: int) -> str:
    """Every QUERY_NAMES parameter twice, with QUERY_VALUES in turn (starting `shift` along)."""
    n = len(QUERY_VALUES)
    pairs = [(name, QUERY_VALUES[(2 * i + j + shift) % n]) for i, name in enumerate(QUERY_NAMES) for j in range(2)]
    return "?" + urlencode(pairs)


def _args(rule) -> list[tuple[str, str]]:
    """(converter, name) of each variable part of the rule."""
    return [(converter or "default", name) for converter, name in ARG.findall(rule.rule)]


def _fill(rule: str, values: dict[str, str]) -> str:
    return ARG.sub(lambda m: quote(values[m.group(2)], safe=""), rule)


def _url_variants(rule, world: World, own_ids: dict[str, list[int]]) -> list[tuple[str, str]]:
    """(variant, path) pairs of one rule: boundary ids, 东城's and 南城's real ids, junk and real tokens."""
    args = _args(rule)
    ints = [name for converter, name in args if converter == "int"]
    strings = [name for converter, name in args if converter != "int"]
    if not args:
        return [("plain", rule.rule)]
    junk = dict.fromkeys(strings, "x")
    variants = []
    if ints:
        missing_kinds = [name for name in ints if name not in world.other.ids]
        assert not missing_kinds, f"{rule.rule}: the crawl has no record for {missing_kinds}: add one to crawl_support"
        for label, value in BOUNDARY_IDS.items():
            variants.append((label, _fill(rule.rule, {**junk, **dict.fromkeys(ints, value)})))
        for label, ids in (("other", world.other.ids), ("own", own_ids)):
            for i in range(max(len(ids[name]) for name in ints)):
                chosen = {name: str(ids[name][min(i, len(ids[name]) - 1)]) for name in ints}
                variants.append((f"{label}#{i}", _fill(rule.rule, {**junk, **chosen})))
    else:
        for value in JUNK_STRINGS:
            variants.append((f"junk:{value[:12]}", _fill(rule.rule, dict.fromkeys(strings, value))))
        for label, tree in (("other", world.other), ("own", world.own)):
            for name in strings:
                for value in tree.tokens.get(name, []):
                    variants.append((f"{label}-token", _fill(rule.rule, {**junk, name: value})))
    return variants


# -- the people ---------------------------------------------------------------------------------------------------

_addresses = itertools.count(1)


def _address() -> str:
    n = next(_addresses)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def _new_client(app):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = _address()  # rate limits count per address
    return client


def _log_in(client, mobile: str, password: str = DEMO_PASSWORD, csrf: bool = False) -> None:
    data = {"mobile": mobile, "password": password}
    if csrf:
        data["csrf_token"] = _csrf_token(client, "/login")
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def _csrf_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


class People:
    """A web client and an API bearer token per person; request(person, method, url, **kw)."""

    def __init__(self, app, world: World, *, csrf: bool = False) -> None:
        self.csrf = csrf
        self.mobiles = {role: world.accounts[role].mobile for role in ROLES}
        self.passwords = dict.fromkeys(ROLES, DEMO_PASSWORD)
        self.web = {"anonymous": _new_client(app)}
        self.bearer: dict[str, dict] = {"anonymous": {}}
        for role in ROLES:
            user = world.accounts[role]
            self.web[role] = _new_client(app)
            _log_in(self.web[role], user.mobile, csrf=csrf)
            _token, secret = create_token(user, "crawl", by=None, now=utcnow())
            self.bearer[role] = {"Authorization": f"Bearer {secret}"}
        _db.session.commit()
        # each session's CSRF token (the same for all its forms), for the wrong-token test
        self.tokens = {who: _csrf_token(client, "/verify") for who, client in self.web.items()} if csrf else {}

    def after_post(self, who: str, path: str, pairs, response) -> None:
        """Drop the answer's flashed messages (shown on the next page, they belong to this answer: a sign-up's
        message names the event); after a logout or a password change, log the person in again (with the new
        password)."""
        with self.web[who].session_transaction() as session:
            session.pop("_flashes", None)
        if who == "anonymous" or urlsplit(path).path not in ("/logout", "/me/password"):
            return
        if urlsplit(path).path == "/me/password" and response.status_code == 302:
            self.passwords[who] = next(v for k, v in pairs if k == "new_password")
        if self.web[who].get("/me").status_code != 200:
            _log_in(self.web[who], self.mobiles[who], self.passwords[who], csrf=self.csrf)

    def request(self, who: str, method: str, url: str, **kwargs):
        headers = self.bearer[who] if url.startswith("/api/") else {}
        client = self.web[who]
        if method == "POST":  # from a new address each time: the per-address rate limits would stop the fuzz early
            client.environ_base["REMOTE_ADDR"] = _address()
        return client.open(url, method=method, headers=headers, **kwargs)


# -- the world ------------------------------------------------------------------------------------------------------


@pytest.fixture
def world(app, db) -> World:
    return support.build_world()


def _own_ids(world: World) -> dict[str, list[int]]:
    """南城's records, and for user ids the demo accounts too (each sees their own profile, the others' ones)."""
    ids = {name: list(values) for name, values in world.own.ids.items()}
    ids["user_id"] = ids["user_id"] + [user.id for user in world.accounts.values()]
    return ids


def _get_rules(app):
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and rule.rule not in SKIPPED_RULES),
        key=lambda rule: rule.rule,
    )


def _leaked_numbers(rule: str, viewer, page: str, world: World) -> set[str]:
    """The whole ID numbers of the page that ID_NUMBER_PAGES does not allow this viewer on this rule."""
    whose = ID_NUMBER_PAGES.get(rule, (frozenset(), ""))[0]
    if whose == ANY:
        return set()
    numbers = support.whole_id_numbers(page, world.id_numbers)
    if whose == OWN:
        return {n for n in numbers if viewer is None or world.id_numbers.get(n) != viewer.id}
    return numbers - set(whose)


def _leaked_names(who: str, rule: str, page: str, sent: str = "") -> list[str]:
    """The planted 东城 names of the page that PUBLIC_PAGES does not allow on this rule (people below the city);
    a name the request itself sent (`sent`) may come back (a refused form shows what was typed)."""
    if who not in BELOW_CITY:
        return []
    allowed = PUBLIC_PAGES.get(rule, (frozenset(), ""))[0]
    return sorted(key for key, name in OTHER_NAMES.items() if name in page and name not in sent and key not in allowed)


def _problems_of(
    who: str, method: str, rule: str, url: str, response, page: str, world: World, sent: str = ""
) -> list[str]:
    if response.status_code >= 500:
        return [f"{response.status_code} {who} {method} {url}"]
    problems = []
    if leaked := _leaked_names(who, rule, page, sent):
        at = page.find(OTHER_NAMES[leaked[0]])
        context = re.sub(r"\s+", " ", page[max(0, at - 80) : at + 40])
        problems.append(f"leak of 东城's {leaked}: {who} {method} {url} ({response.status_code}) …{context}…")
    if numbers := {n for n in _leaked_numbers(rule, world.accounts.get(who), page, world) if n not in sent}:
        owners = sorted(world.id_numbers.get(n, -1) for n in numbers)
        problems.append(f"whole ID number of user(s) {owners}: {who} {method} {url} ({response.status_code})")
    return problems


def test_get_crawl(app, world):
    """Every GET route, every id variant, every person: no 500, no 东城 name outside PUBLIC_PAGES, no ID number."""
    started = time.monotonic()
    people = People(app, world)
    own_ids = _own_ids(world)
    rules = _get_rules(app)
    problems, statuses, requests, names_seen, numbers_seen = [], Counter(), 0, set(), set()
    swept: set[tuple[str, str]] = set()  # (person, filter form action) already swept

    def numbers_in(page: str) -> set[str]:
        return support.whole_id_numbers(page, world.id_numbers)

    for rule in rules:
        shown: dict[str, str] = {}  # person -> the first URL of the rule that answered them 200
        for _variant, url in _url_variants(rule, world, own_ids):
            for who in PEOPLE:
                response = people.request(who, "GET", url)
                requests += 1
                statuses[response.status_code] += 1
                page = support.readable_text(response)
                problems += _problems_of(who, "GET", rule.rule, url, response, page, world)
                if response.status_code == 200:
                    shown.setdefault(who, url)
                if who == "admin":
                    names_seen.update(key for key, name in OTHER_NAMES.items() if name in page)
                if rule.rule == "/me" and who != "anonymous":
                    mine = world.accounts[who].id
                    numbers_seen.update(who for n in numbers_in(page) if world.id_numbers.get(n) == mine)
        # the pages each person sees, again with a hostile query string (and one person's with NUL in it); the
        # filter forms (GET) of the pages, each field in turn, the others as the page fills them
        extra = [(who, url + _hostile_query(3 * i)) for i, (who, url) in enumerate(shown.items())]
        extra += [(who, url + NUL_QUERY) for who, url in list(shown.items())[:1]]
        extra += [(who, url) for who, url in _filter_sweep(people, shown, swept)]
        for who, url in extra:
            response = people.request(who, "GET", url)
            requests += 1
            statuses[response.status_code] += 1
            problems += _problems_of(who, "GET", rule.rule, url, response, support.readable_text(response), world)
    skipped = [rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and rule.rule in SKIPPED_RULES]
    print(
        f"\nGET crawl: {len(rules)} routes ({len(skipped)} skipped: {skipped}), {len(PEOPLE)} people "
        f"(anonymous + {', '.join(ROLES)}), {requests} requests, statuses {dict(sorted(statuses.items()))}, "
        f"{time.monotonic() - started:.1f} s"
    )
    assert not problems, "\n".join(problems)
    # the checks can fail: the city's administrator reads every planted name somewhere, each account its own number
    assert names_seen == set(OTHER_NAMES), set(OTHER_NAMES) - names_seen
    assert numbers_seen == set(ROLES), numbers_seen


# -- POST forms -----------------------------------------------------------------------------------------------------

# POST forms the crawled pages do not show (they appear only in a state the crawl does not reach): rule -> (the
# form's fields, where the form is). They are fuzzed with these fields.
FORMS_NOT_ON_PAGES: dict[str, tuple[list[str], str]] = {
    "/admin/organizations/<int:org_id>/children": (
        ["csrf_token", "child-name", "child-short_name", "child-kind", "child-code"],
        "the page of an organization that may have children (the crawled organization is a team: none)",
    ),
    "/register/confirm": (
        ["csrf_token", "code"],
        "the page of a registration waiting for its texted code, in the browser that registered (the crawl registers nobody)",
    ),
    "/register/confirm/resend": (
        ["csrf_token"],
        "the same page: another code for the registration waiting in this browser",
    ),
    "/admin/organizations/import/confirm": (
        ["csrf_token", "rows"],
        "the preview of an uploaded tree file (the crawl uploads no file)",
    ),
    "/admin/people/<int:user_id>/enable": (
        ["csrf_token", "reason"],
        "the profile (or account page) of a disabled person: nobody in the world is disabled",
    ),
    "/reset/<token>": (
        ["csrf_token", "new_password", "new_password_confirm"],
        "the page a one-time reset link opens: its secret is shown once, to whoever issued it",
    ),
    "/me/mobile/confirm": (
        ["csrf_token", "code"],
        "/me/mobile once a code was sent to a new number (the number waits in the session of whoever asked)",
    ),
    "/affiliation/<int:change_id>/cancel": (
        ["csrf_token"],
        "the mover's own /me/affiliation page, or a university's hand-over page with a hand-over pending (none here)",
    ),
    "/checkin/kiosk": (
        ["csrf_token", "latitude", "longitude", "accuracy_m"],
        "the kiosk page, in the session of someone who scanned the venue's QR code (/k/<token>)",
    ),
    "/events/staffing/quotas/<int:quota_id>/shifts/<int:shift_id>/fill": (
        ["csrf_token", "volunteer_ids"],
        "a team's quota page once a quota and a shift are chosen (?quota=&shift=)",
    ),
    "/hours/membership/approved.xlsx": (
        ["csrf_token", "since"],
        "the approved-members page when someone was approved since the chosen day (nobody in the world)",
    ),
}
# Refusals that write on purpose: rule -> (the tables they may write, why).
WRITES_ON_REFUSAL: dict[str, tuple[frozenset[str], str]] = {
    "/checkin/events/<int:event_id>/manual": (
        frozenset({"scans"}),
        "a refused manual check-in stays in the scan log (commit_refusals=ScanRefused in checkin/coordinator/routes.py)",
    ),
    "/checkin/kiosk": (
        frozenset({"scans"}),
        "a refused kiosk check-in stays in the scan log (commit_refusals=ScanRefused in checkin/kiosk/routes.py)",
    ),
}
# Forms are found on the pages these people see (between them every form of the world): by kind of URL variant.
DISCOVERERS = {
    "plain": ("anonymous", "admin", "reviewer", "volunteer"),  # rules without arguments
    "own": ("admin", "volunteer"),  # 南城's records (the volunteer's own shifts and hours among them)
    "other": ("admin",),  # 东城's records
}
# hypothesis examples per form (without and with CSRF); raise them for a longer hunt: CRAWL_FORM_EXAMPLES=200
FORM_EXAMPLES = int(os.environ.get("CRAWL_FORM_EXAMPLES", "8"))
CSRF_EXAMPLES = int(os.environ.get("CRAWL_CSRF_EXAMPLES", "3"))

EDGE_VALUES = [
    "",
    " ",
    "0",
    "-1",
    "1.5",
    str(2**31),
    str(2**63),
    str(2**64),
    "-" + str(2**63 + 1),
    "99999999999999999999",
    "1e309",
    "NaN",
    "-inf",
    "on",
    "null",
    "[]",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "2026-13-01T25:61",
    "24:00",
    "１２３",  # full-width digits
    "٣٤",  # Arabic-Indic digits
    "\x00",
    "\r\n\r\n",
    "\u202e\u200b",  # right-to-left override, zero-width space
    "<script>alert(1)</script>",
    "' OR '1'='1' --",
    '=HYPERLINK("http://x")',
    "../../etc/passwd",
    "%s%n%x",
    "23.02,113.75\n23.03,113.76",
    "张三",
    "13800000009",  # nobody's mobile (a demo account's would get locked out by the fuzzed logins)
]
# long strings that get past the request parser (its limit is MAX_FORM_MEMORY_SIZE, 500 kB) to the validators and
# the database's column sizes; a 1 MB one gets the 413 of the parser
LONG_VALUES = ["x" * 121, "长" * 256, "y" * 1001, "z" * 5000, "w" * 200_000]
MEGABYTE = "x" * 1_000_000

values = st.one_of(
    st.text(),  # any Unicode (but lone surrogates, which no browser sends)
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Co"])),  # control, format, spaces
    st.binary(max_size=48),  # raw bytes, sent as they are (invalid UTF-8 included)
    st.sampled_from(EDGE_VALUES),
    st.sampled_from(LONG_VALUES),
)
IMAGE = support.image("PNG")
file_contents = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"", IMAGE, IMAGE[:40], b"PK\x03\x04" + b"\x00" * 60, b"GIF89a" + b"\xff" * 30]),
)
file_names = st.one_of(
    st.sampled_from(["a.png", "签到表.jpg", "../../x.png", "", "a" * 300 + ".xlsx", "x.exe", "名单.xlsx", "\x00.png"]),
    st.text(max_size=20),
)
FIELD_ACTIONS = ["keep", "keep", "drop", "hostile", "hostile", "repeat"]


REAL = ("own", "other", "plain")


class Target:
    """A POST rule to fuzz: a form of it (fields and defaults) and the paths to post to.

    The administrator posts only to 南城's records and the boundary ids: their writes succeed, and one that moved a
    东城 record (with its planted names) into 南城 would make later answers to 南城's people look like leaks.
    """

    def __init__(self, rule: str, form: support.Form, paths: dict[str, str]) -> None:
        self.rule, self.form = rule, form
        # real records three times as often as the boundary ids (0, -1, 2^63, missing), which all answer 404
        weighted = [path for path, kind in sorted(paths.items()) for _ in range(3 if kind in REAL else 1)]
        self.paths = weighted
        self.admin_paths = [path for path in weighted if paths[path] != "other"] or weighted
        # paths that name real records: where a route, and so the CSRF check, answers (a boundary id is a 404 first)
        self.real_paths = sorted(path for path, kind in paths.items() if kind in REAL) or sorted(paths)

    def people_and_paths(self):
        return st.sampled_from(PEOPLE).flatmap(
            lambda who: st.tuples(st.just(who), st.sampled_from(self.admin_paths if who == "admin" else self.paths))
        )


def _post_rules(app) -> list[str]:
    """Every POST rule but the API's (JSON with bearer tokens: test_schemathesis.py and test_api_fuzz.py)."""
    return sorted({r.rule for r in app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api/")})


_FORMS: dict[str, support.Form] = {}  # rule -> the form found for it (the same in every world of this module)
_FORM_PATHS: dict[str, dict[str, str]] = {}  # rule -> {path the pages post to: "own"/"other"/"plain"} (the worlds
# of this module are built alike, with the same ids)
_SCRUB = [(name, OWN_NAMES[key]) for key, name in OTHER_NAMES.items()]


def _scrubbed(form: support.Form) -> support.Form:
    """The form with 东城's planted names in its defaults replaced by 南城's (posting them would plant them)."""
    fields = []
    for name, value in form.fields:
        for planted, harmless in _SCRUB:
            value = value.replace(planted, harmless)
        fields.append((name, value))
    return replace(form, fields=fields)


def _discover_forms(app, people: People, world: World) -> None:
    """Read the POST forms of the pages the discoverers see (once per process); 南城's pages' forms first."""
    if _FORMS:
        return
    adapter = app.url_map.bind("localhost")
    own_ids = _own_ids(world)
    found: dict[str, dict[str, support.Form]] = defaultdict(dict)
    for rule in _get_rules(app):
        for variant, url in _url_variants(rule, world, own_ids):
            kind = variant.split("#")[0]
            for who in DISCOVERERS.get(kind, ()):
                response = people.request(who, "GET", url)
                if response.status_code != 200 or "html" not in response.content_type:
                    continue
                for form in support.post_forms(response.get_data(as_text=True), url):
                    post_rule, _ = adapter.match(urlsplit(form.action).path, method="POST", return_rule=True)
                    found[post_rule.rule].setdefault(kind, form)
                    _FORM_PATHS.setdefault(post_rule.rule, {}).setdefault(form.action, kind)
    for rule, by_kind in found.items():
        _FORMS[rule] = _scrubbed(by_kind.get("own") or by_kind.get("plain") or by_kind["other"])
    for rule, (names, _where) in FORMS_NOT_ON_PAGES.items():
        assert rule not in _FORMS, f"{rule} is on the crawled pages now: take it out of FORMS_NOT_ON_PAGES"
        _FORMS[rule] = support.Form(action=rule, fields=[(name, "") for name in names], names=set(names))


def _targets(app, people: People, world: World) -> list[Target]:
    _discover_forms(app, people, world)
    rules = {rule.rule: rule for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    missing = [rule for rule in _post_rules(app) if rule not in _FORMS]
    assert not missing, f"no page shows a form of {missing}: add it to FORMS_NOT_ON_PAGES with its fields"
    targets = []
    for name in _post_rules(app):
        paths = dict(_FORM_PATHS.get(name, {}))
        for label, path in _url_variants(rules[name], world, _own_ids(world)):
            paths.setdefault(path, label.split("#")[0])
        targets.append(Target(name, _FORMS[name], paths))
    return targets


def _plausible_values(world: World) -> dict[str, str]:
    """Values a person would type into the empty fields of a new form, by field name: the fuzz starts from a body
    that could be accepted, so that one hostile field reaches the code behind the validators."""
    today = local_today(utcnow())
    day = (today + timedelta(days=5)).isoformat()
    text_value = "爬虫测试"
    values = dict.fromkeys(
        [
            "title",
            "name",
            "river_name",
            "summary",
            "description",
            "reason",
            "note",
            "answer",
            "place",
            "forwarded_to",
            "meeting_point",
            "emergency_contact_name",
            "guardian_name",
            "brand_tag",
            "serial",
            "time_slots",
        ],
        text_value,
    )
    values.update(dict.fromkeys(["starts_at", "signup_opens_at"], f"{day}T09:00"))
    values.update(dict.fromkeys(["ends_at", "signup_closes_at"], f"{day}T12:00"))
    values.update(dict.fromkeys(["first_day", "last_day", "valid_from", "valid_until"], day))
    values.update(dict.fromkeys(["service_date", "since", "period_start", "activist_since"], today.isoformat()))
    values.update({"period_end": today.isoformat(), "starts_local": "09:00", "ends_local": "11:00"})
    values.update(
        dict.fromkeys(
            [
                "capacity",
                "headcount",
                "quantity",
                "minutes",
                "hours",
                "default_headcount",
                "expected_count",
                "cancel_cutoff_hours",
                "checkin_opens_minutes",
                "corrected_minutes",
                "min_age",
            ],
            "3",
        )
    )
    values.update({"checkin_distance_m": "200", "checkin_radius_m": "300", "latitude": "23.02", "longitude": "113.75"})
    # 南城's volunteer (not a demo account: a fuzzed login's failures must not lock out the accounts the crawl uses)
    mobile = world.own.users["owner"].mobile
    values.update(dict.fromkeys(["mobile", "chief_mobile", "person", "volunteer", "actor_mobile"], mobile))
    values.update({"emergency_contact_mobile": "13700000000", "guardian_mobile": "13700000001"})
    values.update(
        dict.fromkeys(["password", "password_confirm", "new_password", "new_password_confirm"], "Long-enough-9")
    )
    values.update({"current_password": DEMO_PASSWORD, "points": "23.02,113.75\n23.03,113.76"})  # People follows
    values["id_number"] = demo_id_number(date(2000, 2, 2), 777).value
    return values


def _starting_body(form: support.Form, plausible: dict[str, str]) -> list[tuple[str, str]]:
    """The form as the page fills it, its empty fields given PLAUSIBLE values (selects: their first real choice)."""
    body = []
    for name, value in [*form.fields, *((n, "") for n in sorted(form.names - {n for n, _ in form.fields}))]:
        if name in form.files:
            continue
        if value == "":
            offered = [choice for choice in form.choices.get(name, []) if choice]
            value = plausible.get(name, offered[0] if offered else "")
        body.append((name, value))
    return body


@st.composite
def form_bodies(draw, form: support.Form, plausible: dict[str, str]):
    """(pairs, files): the form's starting body with one field, or each field at random, kept, dropped, made
    hostile or repeated; invented fields; now and then a 1 MB value; junk files for its file inputs."""
    start = _starting_body(form, plausible)
    one = draw(st.integers(-1, len(start) - 1)) if draw(st.booleans()) else None  # mutate only this field
    pairs: list[tuple[str, str | bytes]] = []
    for index, (name, default) in enumerate(start):
        action = "keep" if one is not None and index != one else draw(st.sampled_from(FIELD_ACTIONS))
        if action in ("keep", "repeat"):
            pairs.append((name, default))
        if action in ("hostile", "repeat"):
            choices = form.choices.get(name, [])
            pairs.append((name, draw(st.sampled_from(choices) | values if choices else values)))
    if one is None or one == -1:
        invented = st.sampled_from([*sorted(form.names), "csrf_token", "id", "user_id", "organization_id", "status"])
        pairs += draw(st.lists(st.tuples(invented | st.text(max_size=8), values), max_size=3))
    if draw(st.integers(0, 11)) == 0:
        pairs.append((draw(st.sampled_from(sorted(form.names) or ["x"])), MEGABYTE))
    files = [
        (name, draw(file_contents), draw(file_names))
        for name in sorted(form.files)
        for _ in range(draw(st.integers(0, 2)))
    ]
    return pairs, files


def _send(people: People, who: str, path: str, pairs, files):
    if files:  # multipart, as the browser sends a form with a file
        data = MultiDict(
            [(k, v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in pairs]
            + [(name, (io.BytesIO(content), filename)) for name, content, filename in files]
        )
        return people.request(who, "POST", path, data=data, content_type="multipart/form-data")
    body = urlencode([(k, v) for k, v in pairs]).encode("ascii")  # bytes values go as raw (percent-encoded) bytes
    return people.request(who, "POST", path, data=body, content_type="application/x-www-form-urlencoded")


def _shows_form_again(response, path: str) -> bool:
    """A 200 HTML answer that shows a form posting to where this one was sent: the form refused, re-rendered."""
    if response.status_code != 200 or "html" not in (response.content_type or ""):
        return False
    target = urlsplit(path).path
    page = response.get_data(as_text=True)
    return any(urlsplit(form.action).path == target for form in support.post_forms(page, path))


def _describe(pairs, files) -> str:
    shown = [(k, (v[:40] + f"…({len(v)})") if len(v) > 40 else v) for k, v in pairs]
    return f"{shown} files={[(n, len(c), f[:30]) for n, c, f in files]}"


class Log:
    """What the fuzz of a test sent and found."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.statuses: Counter = Counter()
        self.refusals = 0
        self.by_rule: dict[str, Counter] = defaultdict(Counter)

    def record(self, response, found: list[str], pairs, files, rule: str = "") -> None:
        self.statuses[response.status_code] += 1
        self.by_rule[rule][response.status_code] += 1
        self.problems.extend(f"{problem} body={_describe(pairs, files)}" for problem in found)


FUZZ = settings(
    max_examples=FORM_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same bodies on every run: CI is stable, a failure reproducible
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the examples share one database
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _fuzz_form(target: Target, people: People, world: World, log: Log) -> None:
    """FORM_EXAMPLES hypothesis bodies to the target, each by a drawn person to a drawn path."""

    @FUZZ
    @given(who_and_path=target.people_and_paths(), body=form_bodies(target.form, _plausible_values(world)))
    def fuzz(who_and_path, body):
        (who, path), (pairs, files) = who_and_path, body
        before = support.row_counts()
        response = _send(people, who, path, pairs, files)
        people.after_post(who, path, pairs, response)
        page = support.readable_text(response) if response.status_code < 500 else ""
        sent = repr(pairs) + "".join(v.decode("utf-8", "replace") for _, v in pairs if isinstance(v, bytes))
        found = _problems_of(who, "POST", target.rule, path, response, page, world, sent)
        if response.status_code >= 400 or _shows_form_again(response, path):
            log.refusals += 1
            after = support.row_counts()
            allowed = WRITES_ON_REFUSAL.get(target.rule, (frozenset(), ""))[0]
            changed = {t: (before[t], after[t]) for t in before if before[t] != after[t] and t not in allowed}
            if changed:
                found.append(f"refused ({response.status_code}) but wrote {changed}: {who} POST {path}")
        log.record(response, found, pairs, files, target.rule)

    fuzz()


def test_post_forms(app, world):
    """Every non-API POST form, FORM_EXAMPLES hypothesis bodies each, each by a drawn person and to a drawn path:
    no 500, no leak in the answer, and a refusal (4xx, or the form shown again) changes no table's row count."""
    started = time.monotonic()
    people = People(app, world)
    targets = _targets(app, people, world)
    discovered = time.monotonic() - started
    log = Log()
    for target in targets:
        _fuzz_form(target, people, world, log)
    print(
        f"\nPOST forms: {len(targets)} forms ({len(FORMS_NOT_ON_PAGES)} not on the crawled pages), {FORM_EXAMPLES} "
        f"hypothesis examples each = {sum(log.statuses.values())} requests ({log.refusals} refusals checked for "
        f"writes), statuses {dict(sorted(log.statuses.items()))}, {time.monotonic() - started:.1f} s (finding the "
        f"forms {discovered:.1f} s)"
    )
    if os.environ.get("CRAWL_VERBOSE"):
        for rule, counts in sorted(log.by_rule.items()):
            print(f"  {rule}: {dict(sorted(counts.items()))}")
    assert not log.problems, "\n".join(log.problems)


# Each field of each form in turn, the rest as a person would fill it: the values that broke PostgreSQL (NUL in text,
# ids past its integer, a date whose UTC time falls before year 1) and a text longer than any column.
SWEEP_VALUES = ["a\x00b", "x" * 5000, str(2**31), "0001-01-01"]


def test_each_form_field_with_edge_values(app, world):
    """The administrator (who passes every permission check) sends every form with one field at a time set to each
    of SWEEP_VALUES: no 500, and a refusal changes no table's row count."""
    started = time.monotonic()
    people = People(app, world)
    plausible = _plausible_values(world)
    log = Log()
    for target in _targets(app, people, world):
        path = target.real_paths[0]
        start = _starting_body(target.form, plausible)
        for index, (name, _value) in enumerate(start):
            for value in [] if name == "csrf_token" else SWEEP_VALUES:
                pairs = [*start[:index], (name, value), *start[index + 1 :]]
                before = support.row_counts()
                response = _send(people, "admin", path, pairs, [])
                people.after_post("admin", path, pairs, response)
                found = [f"{response.status_code} admin POST {path}"] if response.status_code >= 500 else []
                if response.status_code >= 400 or _shows_form_again(response, path):
                    allowed = WRITES_ON_REFUSAL.get(target.rule, (frozenset(), ""))[0]
                    after = support.row_counts()
                    if changed := {
                        t: (before[t], after[t]) for t in before if before[t] != after[t] and t not in allowed
                    }:
                        found.append(f"refused ({response.status_code}) but wrote {changed}: admin POST {path}")
                log.record(response, found, pairs, [], target.rule)
    print(
        f"\nPOST form fields: {len(log.by_rule)} forms, {sum(log.statuses.values())} requests (each field x "
        f"{len(SWEEP_VALUES)} values), statuses {dict(sorted(log.statuses.items()))}, {time.monotonic() - started:.1f} s"
    )
    assert not log.problems, "\n".join(log.problems)


# -- POST forms with CSRF on: a wrong token is refused and writes nothing ------------------------------------------


def _fresh_request_globals():
    """Each request starts with an empty `g`, as in production (tests/conftest.py's app fixture does the same)."""
    for name in list(g):
        g.pop(name)


@pytest.fixture
def csrf_app(database_url, app_overrides):
    """The app with CSRF protection on (the `app` fixture turns it off), on the test's own database."""
    application = create_app(
        "testing", {**app_overrides, "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": True}
    )
    application.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
    with application.app_context():
        yield application
        _db.session.remove()
    dispose_engines(application)


def _flipped(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def _wrong_tokens(people: People, who: str):
    """CSRF tokens that are not this session's: none, empty, junk, this one tampered, another session's, or the
    field repeated with wrong values only (a right one anywhere in the list may be taken: that is not a refusal)."""
    own = people.tokens[who]
    others = sorted(token for person, token in people.tokens.items() if person != who)
    single = st.one_of(
        st.just(""),
        st.text(max_size=100),
        st.sampled_from([_flipped(own), own[:-8], own + "x", own.split(".")[0], *others]),
        st.just("x" * 1_000_000),
    )
    return st.one_of(st.just([]), st.lists(single, min_size=1, max_size=3))


def _fuzz_csrf(target: Target, people: People, world: World, log: Log) -> None:
    plausible = _plausible_values(world)

    @settings(FUZZ, max_examples=CSRF_EXAMPLES)
    @given(who=st.sampled_from(PEOPLE), path=st.sampled_from(target.real_paths), data=st.data())
    def fuzz(who, path, data):
        tokens = data.draw(_wrong_tokens(people, who), label="csrf_token")
        pairs = [(k, v) for k, v in _starting_body(target.form, plausible) if k != "csrf_token"]
        pairs += [("csrf_token", token) for token in tokens]
        files = [(name, IMAGE, "a.png") for name in sorted(target.form.files)]
        before = support.row_counts()
        response = _send(people, who, path, pairs, files)
        people.after_post(who, path, pairs, response)
        found = []
        if response.status_code not in (400, 413):  # the CSRF refusal; 413: the 1 MB token, refused before it
            found.append(f"{response.status_code}, not 400, for a wrong CSRF token: {who} POST {path}")
        after = support.row_counts()
        if changed := {t: (before[t], after[t]) for t in before if before[t] != after[t]}:
            found.append(f"wrong CSRF token but wrote {changed}: {who} POST {path}")
        log.record(response, found, pairs, files, target.rule)

    fuzz()


def test_post_forms_refuse_a_wrong_csrf_token(csrf_app, database_url):
    """With CSRF on, every form posted with a wrong token (CSRF_EXAMPLES hypothesis choices each), by each person,
    with the body the page would send: 400 (the form has expired), never 500, and no table's row count changes."""
    started = time.monotonic()
    world = support.build_world()
    people = People(csrf_app, world, csrf=True)
    targets = _targets(csrf_app, people, world)
    log = Log()
    for target in targets:
        _fuzz_csrf(target, people, world, log)
    print(
        f"\nPOST forms with CSRF on: {len(targets)} forms, {CSRF_EXAMPLES} wrong tokens each = "
        f"{sum(log.statuses.values())} requests, statuses {dict(sorted(log.statuses.items()))}, "
        f"{time.monotonic() - started:.1f} s"
    )
    assert not log.problems, "\n".join(log.problems)
