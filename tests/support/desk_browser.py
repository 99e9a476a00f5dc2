#!/usr/bin/env python3
"""desk_browser.py — drives Vigil's desk page (/desk/) in headless Chromium for the Rust
integration test: an analyst sees a critical alert arrive live over the stream, reviews it and
finds the review in the audit log; a viewer gets no report text and no review form; a token
scoped elsewhere never sees the region; the page switches to French.

    python3 desk_browser.py --base http://127.0.0.1:PORT --analyst TOKEN --viewer TOKEN \
        --outsider TOKEN --region NG-BO --shots DIR

Stdout carries only the lines the Rust test reads: `READY` (signed in and the stream is live:
start feeding), `ACKED <alert_id>` and `OK`. Progress and failures go to stderr; a failure also
saves `failure.png` in DIR and exits 1. Tokens are never printed.

Part of Vigil, licensed under Apache-2.0.
"""
import argparse
import os
import sys

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException, WebDriverException)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT = 180  # seconds; generous, the machine may be busy building
NOTE = "seen by desk test"


class Failure(Exception):
    pass


def log(message):
    print(f"desk_browser: {message}", file=sys.stderr, flush=True)


def out(line):
    print(line, flush=True)


class Desk:
    def __init__(self, base, shots):
        self.base = base.rstrip("/")
        self.shots = shots
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--window-size=1280,900", "--lang=en-US", "--disable-gpu"):
            options.add_argument(arg)
        options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
        self.driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"),
                                       options=options)
        self.driver.set_page_load_timeout(WAIT)

    # -- waiting and looking --
    def wait(self, what, condition, timeout=WAIT):
        """Waits until `condition(driver)` is truthy and returns it; stale elements are retried."""
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.25,
                                 ignored_exceptions=(StaleElementReferenceException,
                                                     NoSuchElementException)).until(condition)
        except TimeoutException:
            raise Failure(f"timed out after {timeout} s waiting for {what}; the page shows: "
                          f"{self.view_text()!r}") from None

    def find(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def one(self, what, css):
        return self.wait(what, lambda d: (d.find_elements(By.CSS_SELECTOR, css) or [None])[0])

    def attr(self, what, css, name):
        """Reads an attribute of the first element matching css (re-finding it if re-rendered)."""
        return self.wait(what, lambda d: d.find_element(By.CSS_SELECTOR, css).get_attribute(name))

    def view_text(self):
        try:
            return self.driver.execute_script(
                "const v = document.querySelector('#view'), e = document.querySelector('#login-error');"
                "return ((e && !e.hidden ? e.textContent + ' | ' : '') + (v ? v.innerText : '')).slice(0, 400);")
        except WebDriverException:
            return "?"

    def view_is(self, name):
        self.one(f"the {name} view", f"#view[data-view='{name}']")

    def shot(self, name):
        path = os.path.join(self.shots, name)
        self.driver.save_screenshot(path)
        log(f"screenshot {path}")

    def go(self, hash_route):
        """Follows an in-page route without reloading the page (the hash router picks it up)."""
        self.driver.execute_script("location.hash = arguments[0];", hash_route)

    def click(self, what, css, moving=False):
        """Clicks the first element matching css, again if a live re-render replaced it. In a
        list that moves while alerts stream in (`moving`), a pointer click could land on the
        neighbour, so the element itself is clicked from the page's script."""
        def attempt(d):
            found = d.find_elements(By.CSS_SELECTOR, css)
            if not found:
                return False
            if moving:
                d.execute_script("arguments[0].focus(); arguments[0].click();", found[0])
            else:
                d.execute_script("arguments[0].scrollIntoView({block: 'center'});", found[0])
                found[0].click()
            return True
        self.wait(what, attempt)

    # -- session --
    def sign_in(self, token, who):
        log(f"signing in as the {who}")
        field = self.one("the token field", "#token")
        self.wait("the token field to be shown", lambda d: field.is_displayed())
        field.clear()
        field.send_keys(token)
        self.click("the sign-in button", "#login")
        state = self.wait(f"the {who} to be signed in with a live stream", lambda d: d.execute_script(
            "const e = document.getElementById('login-error');"
            "if (e && !e.hidden && e.textContent) return 'refused: ' + e.textContent;"
            "return document.body.dataset.stream === 'live' && !document.getElementById('who').hidden && 'live';"))
        if state != "live":
            raise Failure(f"the {who} could not sign in ({state})")
        log(f"signed in: {self.driver.find_element(By.ID, 'who').text}")

    def sign_out(self):
        log("signing out")
        self.click("the sign-out button", "#logout")
        self.wait("the sign-in form", lambda d: d.find_element(By.ID, "token").is_displayed())


def run(desk, a):
    d = desk.driver
    region = a.region

    # 1. The analyst signs in; the stream is live before the Rust test feeds anything.
    log(f"opening {desk.base}/desk/")
    d.get(desk.base + "/desk/")
    desk.sign_in(a.analyst, "analyst")
    desk.view_is("overview")
    desk.shot("01-live.png")
    out("READY")

    # 2. A critical alert for the region arrives over the stream; review it.
    log(f"waiting for a critical alert in {region} to arrive live")
    live = f"#live-alerts a[data-alert-id][data-region='{region}'][data-severity='critical']"
    alert_id = desk.attr(f"a critical alert link for {region}", live, "data-alert-id")
    log(f"critical alert {alert_id} arrived")
    desk.shot("02-critical.png")
    desk.click("the critical alert link", f"{live}[data-alert-id='{alert_id}']", moving=True)
    desk.view_is("alert")
    if alert_id not in d.current_url:
        raise Failure(f"the alert page's address {d.current_url} does not name {alert_id}")
    report_id = desk.attr("an evidence report link", "#alert-evidence a[data-report-id]", "data-report-id")
    log(f"evidence report {report_id}")
    Select(desk.one("the verdict select", "#verdict")).select_by_value("acknowledged")
    note = desk.one("the note field", "#note")
    note.clear()
    note.send_keys(NOTE)
    desk.click("the submit-review button", "#submit-review")
    desk.wait("the new review in the list",
              lambda d: any(NOTE in e.text and "acknowledged" in e.text
                            for e in d.find_elements(By.CSS_SELECTOR, ".review")))
    desk.shot("03-reviewed.png")

    # 3. The review shows in the audit log.
    desk.go("#/audit")
    desk.view_is("audit")
    desk.wait(f"an audit entry naming {alert_id}",
              lambda d: any(alert_id in e.text for e in d.find_elements(By.CSS_SELECTOR, ".audit-entry")))
    desk.shot("04-audit.png")
    out(f"ACKED {alert_id}")

    # 4. The analyst reads the report's text; a viewer gets neither text nor review form.
    desk.go(f"#/report/{report_id}")
    desk.view_is("report")
    if not desk.attr("the report text", "#report-text", "textContent").strip():
        raise Failure(f"the analyst sees report {report_id} with an empty #report-text")
    log("the analyst sees the report text")
    desk.go("#/")
    desk.view_is("overview")
    desk.sign_out()
    desk.sign_in(a.viewer, "viewer")
    desk.go(f"#/report/{report_id}")
    desk.view_is("report")
    desk.one("the analysts-only note", "#no-text")
    if desk.find("#report-text"):
        raise Failure(f"the viewer sees #report-text of report {report_id}")
    desk.go(f"#/alert/{alert_id}")
    desk.view_is("alert")
    desk.wait("the viewer's alert page to list its reviews",
              lambda d: any(NOTE in e.text for e in d.find_elements(By.CSS_SELECTOR, ".review")))
    if desk.find("#submit-review") or desk.find("#silence-submit"):
        raise Failure("the viewer is offered the review or silence form")
    log("the viewer sees no report text and no forms")
    desk.shot("05-viewer.png")

    # 5. A token scoped elsewhere never sees the region.
    desk.go("#/")
    desk.view_is("overview")
    desk.sign_out()
    desk.sign_in(a.outsider, "outsider")
    desk.view_is("overview")
    desk.one("the heat map", "#view[data-view='overview'] table#heatmap tbody tr[data-region]")
    leaked = desk.find(f"[data-region='{region}']")
    if leaked:
        raise Failure(f"the outsider sees {len(leaked)} element(s) of {region}")
    if region in d.page_source:
        raise Failure(f"the outsider's page source contains {region}")
    log(f"the outsider sees nothing of {region}")
    desk.shot("06-outsider.png")

    # 6. French.
    heading = "#view[data-view='overview'] #h-alerts"
    Select(desk.one("the language switch", "#lang")).select_by_value("en")
    desk.wait("the English heading", lambda d: d.find_element(By.CSS_SELECTOR, heading).text == "Open alerts")
    Select(desk.one("the language switch", "#lang")).select_by_value("fr")
    desk.wait("<html lang=fr>", lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr")
    desk.wait("the French heading",
              lambda d: d.find_element(By.CSS_SELECTOR, heading).text == "Alertes ouvertes")
    log("the page speaks French")
    desk.shot("07-french.png")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True)
    p.add_argument("--analyst", required=True)
    p.add_argument("--viewer", required=True)
    p.add_argument("--outsider", required=True)
    p.add_argument("--region", default="NG-BO")
    p.add_argument("--shots", required=True)
    a = p.parse_args()
    os.makedirs(a.shots, exist_ok=True)
    desk = None
    try:
        log("starting headless Chromium")
        desk = Desk(a.base, a.shots)
        run(desk, a)
    except Exception as e:  # noqa: BLE001 — every failure ends the same way
        kind = "" if isinstance(e, Failure) else f"{type(e).__name__}: "
        log(f"FAILED: {kind}{e}".rstrip())
        if desk is not None:
            try:
                desk.shot("failure.png")
            except WebDriverException as shot_error:
                log(f"could not save failure.png: {shot_error.msg}")
        return 1
    finally:
        if desk is not None:
            desk.driver.quit()
    out("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
