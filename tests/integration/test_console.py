"""The dispatch console on the real stack: the Hit Gateway job delivers, `feblam console
serve` serves, and people use it through its API and in a real headless Chromium
(Debian's chromium and chromium-driver, driven by selenium).

One gateway job and one console serve the whole module; each test publishes hits of
its own (hit ids unique to the test), so the tests do not depend on each other's order.
"""

from __future__ import annotations

import time
import uuid

import duckdb
import pytest
import requests
from selenium.webdriver.common.by import By

from connectors.topics import TopicSpec, delete_topics, ensure_topics

from .browser import chromium
from .consolerun import CONFIG, PASSWORD, ConsoleServer
from .gatewayjob import GatewayRun, hit
from .hitjob import cancel, wait_running

SECURITY_HEADERS = ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy")


@pytest.fixture(scope="module")
def gateway(stack, tmp_path_factory):
    created: list[str] = []

    def new_topic(prefix: str = "test", partitions: int = 1, config: dict | None = None) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        ensure_topics(stack.bootstrap_servers, {name: TopicSpec(partitions, dict(config or {}))})
        created.append(name)
        return name

    run = GatewayRun(stack, new_topic, CONFIG)
    run.audit = tmp_path_factory.mktemp("console-audit")
    try:
        run.apply()
        run.camera("C-LIE", "Liège", police_zone="ZP Liège")
        run.camera("C-ANT", "Antwerpen", police_zone="PZ Antwerpen")
        run.flush()
        job_id = run.submit("--audit", str(run.audit))
        try:
            wait_running(stack, job_id)
            yield run
        finally:
            cancel(stack, job_id)
    finally:
        run.cleanup()
        delete_topics(stack.bootstrap_servers, created)


@pytest.fixture(scope="module")
def console(stack, gateway, tmp_path_factory):
    server = ConsoleServer(stack, gateway, tmp_path_factory.mktemp("console"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def new_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def publish(gateway, *records) -> None:
    for record in records:
        gateway.hit(record)
    gateway.flush()


def liege_hit(hit_id: str, priority: str = "P2", **extra) -> dict:
    """A hit for Liège; P2 (ack timeout 10 min): only the escalation test's P1 escalates."""
    record = hit(hit_id, camera_id="C-LIE", priority=priority, **extra)
    record["attributes"] = {"instructions": "Intercept with backup", **record["attributes"]}
    return record


# ---- the API -----------------------------------------------------------------------------


def test_a_centre_sees_its_own_deliveries_only_and_each_with_its_story(console, gateway):
    lie, ant = console.login("lie.disp"), console.login("ant.disp")
    mine, theirs = new_id("lie"), new_id("ant")
    publish(gateway, liege_hit(mine), hit(theirs, camera_id="C-ANT"))
    delivery = lie.wait_for(mine)
    ant.wait_for(theirs)
    assert theirs not in lie.open_ids() and mine not in ant.open_ids()
    assert (delivery["priority"], delivery["state"], delivery["instruction"]["kind"]) == ("P2", "NEW", "INTERCEPT")
    assert delivery["last_seen"]["place"] == "ZP Liège, Liège" and delivery["ack_deadline"] > delivery["delivered_at"]
    assert delivery["explanation"].startswith("Severity 70 (stolen_vehicles)")
    detail = lie.get(f"/api/deliveries/{delivery['delivery_id']}").json()
    assert detail["camera_id"] == "C-LIE" and detail["history"] == [] and detail["sightings_list"] == []
    gateway.sighting(mine, f"r-{mine}-2", 2, camera_id="C-LIE")
    gateway.flush()
    deadline = time.monotonic() + 30
    while not lie.get(f"/api/deliveries/{delivery['delivery_id']}").json()["sightings_list"]:
        assert time.monotonic() < deadline, "the sighting did not reach the card"
        time.sleep(0.3)
    assert ant.get(f"/api/deliveries/{delivery['delivery_id']}").status_code == 404
    assert ant.get(f"/api/deliveries?destination={gateway.name('lie')}").status_code == 403


def test_actions_are_the_gateways_states_and_the_audit_names_the_user(console, gateway):
    lie = console.login("lie.disp")
    hit_id = new_id("act")
    publish(gateway, liege_hit(hit_id))
    delivery_id = lie.wait_for(hit_id)["delivery_id"]
    refused = lie.act(delivery_id, "CLOSE", outcome="INTERCEPTED")
    assert refused.status_code == 409 and refused.json()["refused"] == "CLOSE is not allowed in state NEW"
    for action, state in (("ACKNOWLEDGE", "ACKNOWLEDGED"), ("ACCEPT", "ACCEPTED")):
        answer = lie.act(delivery_id, action)
        assert answer.status_code == 200 and answer.json() == {"state": state}, answer.text
    history = lie.get(f"/api/deliveries/{delivery_id}").json()["history"]
    assert [(h["to"], h["user"]) for h in history] == [("ACKNOWLEDGED", "lie.disp"), ("ACCEPTED", "lie.disp")]
    assert lie.act(delivery_id, "CLOSE", outcome="INTERCEPTED").json() == {"state": "CLOSED"}
    assert hit_id not in lie.open_ids()
    # The audit (committed at the gateway's checkpoints) says who did what.
    deadline = time.monotonic() + 60
    while True:
        rows = _audit(gateway, hit_id)
        if len(rows) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert rows == [("ACKNOWLEDGED", "lie.disp"), ("ACCEPTED", "lie.disp"), ("CLOSED", "lie.disp")]


def _audit(gateway, hit_id: str) -> list[tuple[str, str]]:
    files = list(gateway.audit.glob("audit/**/part-*"))
    if not files:
        return []
    return duckdb.connect().execute(
        f"SELECT to_state, \"user\" FROM read_parquet('{gateway.audit}/audit/**/part-*', hive_partitioning = true) "
        "WHERE kind = 'TRANSITION' AND hit_id = ? ORDER BY \"at\"", [hit_id]).fetchall()


def test_a_covert_hit_reaches_its_owners_users_and_nobody_else(console, gateway):
    owner, lie, nat = console.login("fjp.inv"), console.login("lie.disp"), console.login("nat.disp")
    hit_id = new_id("cov")
    publish(gateway, liege_hit(hit_id, list_name="judicial_alerts",
                               attributes={"owner": gateway.name("fjp"), "covert": "true"}))
    delivery = owner.wait_for(hit_id)
    assert delivery["covert"] is True
    for other in (lie, nat):
        assert hit_id not in other.open_ids()
        assert other.get(f"/api/deliveries/{delivery['delivery_id']}").status_code == 404
        assert other.act(delivery["delivery_id"], "ACKNOWLEDGE").status_code == 404
        assert delivery["plate"] not in _stream_text(console, other)


def _stream_text(console, client, seconds: float = 1.5) -> str:
    """What the live stream sends this user at first: its snapshot."""
    text = b""
    with client.http.get(f"{console.base}/api/stream", stream=True, timeout=10) as answer:
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
        started = time.monotonic()
        for chunk in answer.iter_content(chunk_size=None):
            text += chunk
            if b"event: snapshot" in text and text.endswith(b"\n\n") or time.monotonic() - started > seconds:
                break
    return text.decode()


def test_logins_are_throttled_sessions_end_and_actions_need_the_csrf_token(console, gateway):
    for _ in range(3):   # the server runs with --max-failures 3
        wrong = requests.post(f"{console.base}/api/login", json={"user": "lie.typo1", "password": "guess"}, timeout=10)
        assert wrong.status_code == 401 and wrong.json()["error"] == "wrong user name or password"
    throttled = requests.post(f"{console.base}/api/login", json={"user": "lie.typo1", "password": "correct horse battery"},
                              timeout=10)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    lie = console.login("lie.disp")   # another user at the same address is not locked out
    hit_id = new_id("csrf")
    publish(gateway, liege_hit(hit_id))
    delivery_id = lie.wait_for(hit_id)["delivery_id"]
    forged = lie.http.post(f"{console.base}/api/deliveries/{delivery_id}/actions", json={"action": "ACKNOWLEDGE"},
                           timeout=10)
    assert forged.status_code == 403 and "CSRF" in forged.json()["error"]
    as_form = lie.http.post(f"{console.base}/api/deliveries/{delivery_id}/actions", data={"action": "ACKNOWLEDGE"},
                            headers={"X-CSRF-Token": lie.me["csrf"]}, timeout=10)
    assert as_form.status_code == 400
    assert console.login("lie.watch").act(delivery_id, "ACKNOWLEDGE").status_code == 403   # an observer
    assert lie.get(f"/api/deliveries/{delivery_id}").json()["state"] == "NEW"
    assert lie.post("/api/logout", {}).status_code == 200
    assert lie.get("/api/deliveries").status_code == 401


def test_answers_carry_the_intranet_headers_and_the_log_names_no_plate(console, gateway):
    login = requests.post(f"{console.base}/api/login", json={"user": "lie.disp", "password": "correct horse battery"},
                          timeout=10)
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    for path in ("/", "/api/deliveries", "/static/console.js"):
        answer = requests.get(f"{console.base}{path}", cookies=login.cookies, timeout=10)
        assert answer.status_code == 200, path
        assert all(header in answer.headers for header in SECURITY_HEADERS), (path, answer.headers)
        assert answer.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in requests.get(console.base, timeout=10).headers["content-security-policy"]
    assert "PL" not in console.log_file.read_text(errors="replace").replace("PLATE", "")


def test_a_restarted_console_shows_the_same_boards(console, gateway):
    lie = console.login("lie.disp")
    kept, acted = new_id("keep"), new_id("acted")
    publish(gateway, liege_hit(kept), liege_hit(acted))
    lie.wait_for(kept)
    acted_id = lie.wait_for(acted)["delivery_id"]
    assert lie.act(acted_id, "ACKNOWLEDGE").status_code == 200
    gateway.sighting(kept, f"r-{kept}-2", 2, camera_id="C-LIE")
    gateway.flush()
    time.sleep(2)
    before = lie.get("/api/deliveries").json()["deliveries"]
    details = {d["delivery_id"]: lie.get(f"/api/deliveries/{d['delivery_id']}").json() for d in before}
    console.restart()
    lie = console.login("lie.disp")   # sessions live in the console's memory: a restart asks for a login
    after = lie.get("/api/deliveries").json()["deliveries"]
    assert after == before
    assert {d: lie.get(f"/api/deliveries/{d}").json() for d in details} == details


# ---- the page, in a real browser ----------------------------------------------------------


@pytest.fixture
def browsers(console):
    """Opens the console in a new headless Chromium, logged in as `user` unless None."""
    opened = []

    def open_page(user: str | None, password: str = PASSWORD):
        driver = chromium()
        opened.append(driver)
        driver.get(f"{console.base}/")
        if user is not None:
            log_in(driver, user, password)
            wait(driver, lambda d: d.find_element(By.ID, "board-view").is_displayed() and
                 "live" in d.find_element(By.ID, "link").text, "the board to be live")
        return driver

    yield open_page
    for driver in opened:
        driver.quit()


def log_in(driver, user: str, password: str) -> None:
    wait(driver, lambda d: d.find_element(By.ID, "login-user").is_displayed(), "the login form")
    for field, value in (("login-user", user), ("login-password", password)):
        element = driver.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()


def wait(driver, condition, what: str, timeout_s: float = 45):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout_s, poll_frequency=0.1).until(condition, f"waited for {what}")


def card(driver, plate: str) -> dict | None:
    """The list's card with this plate as the page shows it ({"id", "text"}), or None. Read
    in one script: the page remakes a row when its card changes, so an element held
    across two calls may be gone."""
    return driver.execute_script(
        "const row = [...document.querySelectorAll('#cards .card')]"
        ".find(r => r.querySelector('.plate').textContent === arguments[0]);"
        "return row ? {id: row.dataset.id, text: row.innerText} : null;", plate)


def open_card(driver, plate: str, what: str) -> dict:
    """Click the card with this plate (again, should the row be remade under the click)."""
    from selenium.common.exceptions import StaleElementReferenceException

    def clicked(d):
        found = card(d, plate)
        if found is None:
            return None
        try:
            d.find_element(By.CSS_SELECTOR, f'#cards .card[data-id="{found["id"]}"]').click()
        except StaleElementReferenceException:
            return None
        return found

    shown = wait(driver, clicked, what)
    wait(driver, lambda d: d.find_element(By.ID, "d-plate").text == plate, f"the detail of {what}")
    return shown


def test_a_liege_dispatcher_sees_liege_hits_arrive_live_and_no_other_centres(browsers, console, gateway):
    page = browsers("lie.disp")
    ant = console.login("ant.disp")
    theirs, mine = new_id("bant"), new_id("blie")
    publish(gateway, hit(theirs, camera_id="C-ANT", priority="P2"))
    ant.wait_for(theirs)   # the console has it: had it been Liège's, the page would have it next
    publish(gateway, liege_hit(mine))
    row = wait(page, lambda d: card(d, f"PL{mine}"), "Liège's hit on the page")
    assert "P2" in row["text"] and "INTERCEPT" in row["text"] and "ZP Liège" in row["text"]
    assert f"PL{theirs}" not in page.page_source
    shown = page.execute_script("return window.feblam.shown")
    assert any(s["delivery_id"] == row["id"] for s in shown)   # it came live, not reloaded


def test_acknowledge_then_accept_changes_the_card_on_screen_and_the_audit(browsers, gateway):
    page = browsers("lie.disp")
    hit_id = new_id("back")
    publish(gateway, liege_hit(hit_id))
    open_card(page, f"PL{hit_id}", "the hit")
    assert page.find_element(By.ID, "d-instruction-kind").text == "INTERCEPT"
    for action, state in (("ACKNOWLEDGE", "acknowledged"), ("ACCEPT", "accepted")):
        page.find_element(By.CSS_SELECTOR, f"#actions button[data-action={action}]").click()
        wait(page, lambda d: f"now {state}" in d.find_element(By.ID, "action-result").text, f"{action} confirmed")
        wait(page, lambda d: state in card(d, f"PL{hit_id}")["text"], f"the card {state}")
    assert page.find_element(By.ID, "d-state").text == "accepted"
    deadline = time.monotonic() + 60
    while len(rows := _audit(gateway, hit_id)) < 2 and time.monotonic() < deadline:
        time.sleep(2)
    assert rows == [("ACKNOWLEDGED", "lie.disp"), ("ACCEPTED", "lie.disp")]


def test_the_national_centre_sees_an_escalation_and_who_took_a_hit(browsers, gateway):
    national, liege = browsers("nat.disp"), browsers("lie.disp")
    ignored, shared = new_id("besc"), new_id("bshr")
    publish(gateway, liege_hit(ignored, priority="P1"),   # nobody acknowledges it: 8 s, then national
            liege_hit(shared, list_name="shared_alerts"))   # to national and Liège both
    open_card(liege, f"PL{shared}", "the shared hit at Liège")
    liege.find_element(By.CSS_SELECTOR, "#actions button[data-action=ACCEPT]").click()
    taken = wait(national, lambda d: (row := card(d, f"PL{shared}")) and "taken by" in row["text"] and row,
                 "the taken-by notice at national")
    assert gateway.name("lie") in taken["text"]
    escalated = wait(national, lambda d: card(d, f"PL{ignored}"), "the escalation at national", timeout_s=60)
    assert f"escalated from {gateway.name('lie')}" in escalated["text"]
    wait(liege, lambda d: card(d, f"PL{ignored}") is None, "the escalated hit to leave Liège's list")


def test_a_covert_hit_shows_for_its_owner_and_nowhere_else_not_even_in_the_source(browsers, gateway):
    owner, liege = browsers("fjp.inv"), browsers("lie.disp")
    secret, marker = new_id("bcov"), new_id("bmark")
    publish(gateway, liege_hit(secret, list_name="judicial_alerts",
                               attributes={"owner": gateway.name("fjp"), "covert": "true"}))
    row = wait(owner, lambda d: card(d, f"PL{secret}"), "the covert hit at its owner")
    assert "covert" in row["text"]
    publish(gateway, liege_hit(marker))
    wait(liege, lambda d: card(d, f"PL{marker}"), "a later hit at Liège")
    assert f"PL{secret}" not in liege.page_source
    answer = liege.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/deliveries').then(r => r.text()).then(done);")
    assert f"PL{marker}" in answer and f"PL{secret}" not in answer


def test_a_wrong_password_is_refused_then_throttled_on_the_page(browsers):
    page = browsers(None)
    for _ in range(3):   # --max-failures 3
        log_in(page, "lie.typo2", "not the password")
        wait(page, lambda d: "wrong user name or password" in d.find_element(By.ID, "login-error").text,
             "the refusal")
        page.execute_script("document.getElementById('login-error').textContent = ''")
    log_in(page, "lie.typo2", PASSWORD)
    wait(page, lambda d: "Too many failed logins" in d.find_element(By.ID, "login-error").text, "the lockout")
    assert not page.find_element(By.ID, "board-view").is_displayed()


def test_an_action_without_the_csrf_token_is_refused(browsers, gateway):
    page = browsers("lie.disp")
    hit_id = new_id("bcsrf")
    publish(gateway, liege_hit(hit_id))
    delivery_id = wait(page, lambda d: card(d, f"PL{hit_id}"), "the hit")["id"]
    status = page.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"fetch('/api/deliveries/{delivery_id}/actions', {{method: 'POST', headers: {{'Content-Type': "
        "'application/json'}, body: JSON.stringify({action: 'ACKNOWLEDGE'})}).then(r => done(r.status));")
    assert status == 403
    assert "new" in card(page, f"PL{hit_id}")["text"]


def test_on_a_tablet_the_list_sits_above_the_selected_hit_with_nothing_cut_off(console, gateway):
    hit_id = new_id("btab")
    publish(gateway, liege_hit(hit_id))
    tablet = chromium(window=(800, 1280))
    try:
        tablet.get(f"{console.base}/")
        log_in(tablet, "lie.disp", PASSWORD)
        open_card(tablet, f"PL{hit_id}", "the hit on the tablet")
        layout = tablet.execute_script(
            "const list = document.getElementById('list-pane').getBoundingClientRect();"
            "const detail = document.getElementById('detail-pane').getBoundingClientRect();"
            "return {overflow: document.documentElement.scrollWidth - window.innerWidth,"
            " listBottom: list.bottom, detailTop: detail.top, detailWidth: detail.width, width: window.innerWidth};")
        assert layout["overflow"] <= 0, layout
        assert layout["detailTop"] >= layout["listBottom"] - 1 and layout["detailWidth"] >= layout["width"] - 20, layout
        for action in ("ACKNOWLEDGE", "ACCEPT", "REJECT", "CLOSE"):
            assert tablet.find_element(By.CSS_SELECTOR, f"#actions button[data-action={action}]").is_displayed()
    finally:
        tablet.quit()
