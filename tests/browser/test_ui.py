"""The provider as a user sees it in the real Airflow 3 UI, in a headless Chromium.

One throwaway deployment (``AirflowDeployment``: scheduler, DAG processor, triggerer, API server) serves
the module, next to a TIS simulator; the example DAG's run starts when the deployment is up and runs
while the connection form is checked. Screenshots are kept in the artifacts folder (see conftest).
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_tis.get_provider_info import CONNECTION_FIELDS, UI_FIELD_BEHAVIOUR, get_provider_info
from airflow_provider_tis.testing import AirflowDeployment, TisSimulator, write_vcf
from airflow_provider_tis.version_compat import AIRFLOW_V_3_1_PLUS
from tests.browser.conftest import TIMEOUT, NetworkLog

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.skipif(
    not AIRFLOW_V_3_1_PLUS, reason="checks the React UI of Airflow 3 (connection form from conn-fields)"
)

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "tis_imputation.py"
DAG_ID = "tis_imputation"
ZIP_PASSWORD = "Zip-Secret_4711"
TIS_TYPE = next(t for t in get_provider_info()["connection-types"] if t["connection-type"] == "tis")
#: The connection form's own labels of the standard fields, where the provider does not relabel them.
STANDARD_LABELS = {
    "description": "Description",
    "host": "Host",
    "schema": "Schema",
    "login": "Login",
    "password": "Password",
    "port": "Port",
}
#: What the API answers the UI's "Test" button for a connection without a port (apache/airflow#73298).
PORT_ZERO_REFUSAL = "The host or port to test differs from the stored connection"


class World:
    def __init__(self, sim: TisSimulator, airflow: AirflowDeployment, run_id: str) -> None:
        self.sim, self.airflow, self.run_id = sim, airflow, run_id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    dags = tmp_path_factory.mktemp("dags")
    (dags / EXAMPLE.name).write_text(EXAMPLE.read_text())
    inputs = tmp_path_factory.mktemp("study")
    write_vcf(inputs / "chr20.vcf.gz", chromosomes=("20",))
    env = {"TIS_EXAMPLE_POLL_SECONDS": "1", "TIS_EXAMPLE_RETRY_SECONDS": "1"}
    with TisSimulator(run_seconds=2, export_seconds=0.2) as sim:
        with_port = {**json.loads(sim.connection_json()), "port": urllib.parse.urlsplit(sim.url).port}
        deployment = AirflowDeployment(
            dags,
            home=tmp_path_factory.mktemp("airflow-home"),
            connections={"tis_default": sim.connection_json(), "tis_with_port": json.dumps(with_port)},
            variables={"tis_zip_password": ZIP_PASSWORD},
            pools={"tis_active_jobs": 3},
            env=env,
        )
        with deployment:
            # started now, it runs while the connection form is checked
            conf = {"vcfs": str(inputs / "*.vcf.gz"), "results": str(tmp_path_factory.mktemp("results"))}
            yield World(sim, deployment, deployment.trigger(DAG_ID, conf))


# -- helpers ------------------------------------------------------------------------------------------


def wait(browser: Any, condition: Callable[[Any], Any], what: str, timeout: float = TIMEOUT) -> Any:
    """Wait until ``condition(browser)`` is truthy; returns it."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.2).until(condition, f"no {what} in {timeout:g} s")


def visible(browser: Any, xpath: str, what: str, timeout: float = TIMEOUT) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    return wait(browser, ec.visibility_of_element_located((By.XPATH, xpath)), what, timeout)


def field(container: Any, label: str) -> Any:
    """The form field (Chakra ``Field.Root``) whose label reads ``label``."""
    from selenium.webdriver.common.by import By

    return container.find_element(
        By.XPATH,
        f".//div[@data-scope='field' and @data-part='root'][.//label[normalize-space(.)={_literal(label)}]]",
    )


def _literal(text: str) -> str:
    """``text`` as an XPath 1.0 string literal."""
    if "'" not in text:
        return f"'{text}'"
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in text.split("'")) + ")"


def _typed(locate: Callable[[], Any], text: str) -> bool:
    """Type ``text`` into the element ``locate()`` finds; False while it cannot take keys yet."""
    from selenium.common.exceptions import ElementNotInteractableException, StaleElementReferenceException

    try:
        locate().send_keys(text)
    except (ElementNotInteractableException, StaleElementReferenceException):
        return False
    return True


def open_the_form_of_type_tis(browser: Any, airflow_url: str) -> Any:
    """Admin > Connections > Add Connection, type ``tis`` chosen; returns the dialog."""
    from selenium.webdriver.common.by import By

    browser.get(f"{airflow_url}/connections")
    visible(browser, "//button[normalize-space(.)='Add Connection']", "Add Connection button").click()
    dialog = visible(browser, "//div[@role='dialog'][.//h2[normalize-space(.)='Add Connection']]", "dialog")
    # the type is a searchable select (react-select): type, then pick the option by its exact name
    # the dialog animates in (and a dialog closed by the test before may still be fading out): the
    # input can exist before it takes keys, so typing is retried until it does (CI saw "not interactable")
    wait(
        browser,
        lambda _: _typed(
            lambda: field(dialog, "Connection Type *").find_element(By.CSS_SELECTOR, "input[role=combobox]"),
            "tis",
        ),
        "connection type input that takes keys",
    )
    option = f"//*[@role='option'][normalize-space(.)={_literal(TIS_TYPE['hook-name'])}]"
    visible(browser, option, "the tis option").click()
    visible(browser, "//div[@role='dialog']//input[@name='host']", "the standard fields")
    return dialog


def the_test_button(browser: Any, conn_id: str) -> Any:
    """The "Test Connection" button in the connection list's row of ``conn_id``."""
    return visible(
        browser,
        f"//tr[.//td[normalize-space(.)={_literal(conn_id)}]]//button[@aria-label='Test Connection']",
        f"Test button for {conn_id}",
    )


def toast(browser: Any, kind: str) -> Any:
    """The toast of ``kind`` (``success``, ``error``) once it has slid fully into view (it stays 2 s)."""
    element = visible(
        browser, f"//*[@data-scope='toast' and @data-part='root' and @data-type='{kind}']", f"{kind} toast"
    )
    in_view = "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight;"
    wait(browser, lambda driver: driver.execute_script(in_view, element), f"{kind} toast in view", 10)
    return element


def click_test(browser: Any, network: NetworkLog, conn_id: str) -> dict[str, Any]:
    """Click the connection's "Test" button in the list; returns the request it sent and the answer."""
    the_test_button(browser, conn_id).click()
    exchanges: list[dict[str, Any]] = []

    def answered(driver: Any) -> bool:
        exchanges.extend(network.answered("/api/v2/connections/test"))
        return bool(exchanges)

    wait(browser, answered, f"answer to the Test request of {conn_id}")
    (exchange,) = exchanges
    exchange["body"] = json.loads(exchange["body"])
    return exchange


# -- the connection form ------------------------------------------------------------------------------


def test_the_connection_form_of_type_tis_shows_the_providers_fields(
    browser: Any, world: World, capture: Callable[[str], Path]
) -> None:
    from selenium.webdriver.common.by import By

    dialog = open_the_form_of_type_tis(browser, world.airflow.url)
    assert field(dialog, "Connection Type *").find_elements(
        By.XPATH, f".//div[normalize-space(.)={_literal(TIS_TYPE['hook-name'])}]"
    ), "the chosen type is not shown"

    # standard fields: the provider's labels and placeholders; its hidden fields absent
    hidden = set(UI_FIELD_BEHAVIOUR["hidden-fields"])
    relabeling, placeholders = UI_FIELD_BEHAVIOUR["relabeling"], UI_FIELD_BEHAVIOUR["placeholders"]
    shown_inputs = {
        element.get_attribute("name")
        for element in dialog.find_elements(By.CSS_SELECTOR, "input[name], textarea[name]")
        if element.is_displayed()
    }
    for name, default_label in STANDARD_LABELS.items():
        if name in hidden:
            assert name not in shown_inputs, f"{name} is shown, but the provider hides it"
            continue
        label = relabeling.get(name, default_label)
        control = field(dialog, label).find_element(By.CSS_SELECTOR, f"[name={name}]")
        assert control.is_displayed(), f"{label} is not shown"
        assert (control.get_attribute("placeholder") or "") == placeholders.get(name, ""), name
    assert hidden and not hidden & shown_inputs
    shown_labels = {label.text.strip() for label in dialog.find_elements(By.TAG_NAME, "label")}
    for name in hidden:
        assert STANDARD_LABELS[name] not in shown_labels, f"the hidden field {name} has a label"
    assert "API token" in shown_labels and "Server URL" in shown_labels
    password = field(dialog, relabeling["password"]).find_element(By.CSS_SELECTOR, "input[name=password]")
    assert password.get_attribute("type") == "password", "the token is not masked"
    capture("connection_form_tis")

    # the provider's extra fields, folded under "Extra Fields": label, description, default value
    visible(
        browser, "//div[@role='dialog']//button[normalize-space(.)='Extra Fields']", "Extra Fields"
    ).click()
    for name, spec in CONNECTION_FIELDS.items():
        control = visible(
            browser, f"//div[@role='dialog']//input[@name='element_{name}']", f"extra field {name}"
        )
        root = field(dialog, spec["label"])
        assert root.find_element(By.CSS_SELECTOR, f"input[name=element_{name}]") == control
        helper = root.find_element(By.CSS_SELECTOR, "[data-part=helper-text]")
        assert helper.text.strip() == spec["description"], name
        default = spec["schema"].get("default")
        assert control.get_attribute("value") == ("" if default is None else str(default)), name
    capture("connection_form_tis_extra_fields")


def test_a_tis_connection_saved_from_the_form_works(
    browser: Any, world: World, capture: Callable[[str], Path]
) -> None:
    """Fill in only what a user must (id, type, server URL, token), save, and test what was stored."""
    from selenium.webdriver.common.by import By

    dialog = open_the_form_of_type_tis(browser, world.airflow.url)
    dialog.find_element(By.CSS_SELECTOR, "input[name=connection_id]").send_keys("tis_from_form")
    dialog.find_element(By.CSS_SELECTOR, "input[name=host]").send_keys(world.sim.url)
    dialog.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(world.sim.token)
    capture("connection_form_tis_filled")
    save = "//div[@role='dialog']//button[normalize-space(.)='Save'][not(@disabled)]"
    visible(browser, save, "enabled Save button").click()
    wait(browser, lambda driver: not driver.find_elements(By.XPATH, "//div[@role='dialog']"), "closed form")

    stored = world.airflow.api("GET", "/api/v2/connections/tis_from_form")
    assert (stored["conn_type"], stored["host"], stored["password"]) == ("tis", world.sim.url, "***")
    extra = json.loads(stored["extra"] or "{}")
    assert extra.get("timeout", 0) is None  # the form stores a number left empty as null: it must work
    answer = world.airflow.api(
        "POST", "/api/v2/connections/test", {"connection_id": "tis_from_form", "conn_type": "tis"}
    )
    assert answer["status"] is True, (answer, extra)
    assert answer["message"].startswith("Connected to TOPMed Imputation Server as alice"), answer


# -- the submit task's extra link ---------------------------------------------------------------------


def test_the_submit_task_links_to_its_job_on_the_server(
    browser: Any, world: World, capture: Callable[[str], Path]
) -> None:
    from selenium.webdriver.common.by import By

    assert world.airflow.wait_for_run(DAG_ID, world.run_id, timeout=240) == "success"
    run = urllib.parse.quote(world.run_id, safe="")
    xcom = world.airflow.api(
        "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run}/taskInstances/submit/xcomEntries/return_value"
    )
    job_id = str(xcom["value"]).strip('"')
    assert world.sim.job(job_id).state == 4, "the submit task's job did not succeed on the simulator"

    # Airflow 3 shows a task instance's extra links on its Details tab
    browser.get(f"{world.airflow.url}/dags/{DAG_ID}/runs/{run}/tasks/submit")
    visible(browser, "//a[normalize-space(.)='Details']", "Details tab").click()
    visible(browser, "//*[normalize-space(.)='Extra Links']", "Extra Links heading")
    link = visible(browser, "//a[normalize-space(.)='TIS job']", "TIS job link")
    assert link.get_attribute("href") == f"{world.sim.url}/index.html#!jobs/{job_id}"
    assert link.get_attribute("target") == "_blank"
    assert len(browser.find_elements(By.XPATH, "//a[normalize-space(.)='TIS job']")) == 1
    capture("submit_task_tis_job_link")


# -- the connection list's "Test" button ---------------------------------------------------------------


def test_the_test_button_passes_for_a_tis_connection_that_stores_a_port(
    browser: Any, world: World, network: NetworkLog, capture: Callable[[str], Path]
) -> None:
    browser.get(f"{world.airflow.url}/connections")
    the_test_button(browser, "tis_with_port")  # the list is there
    network.forget()
    exchange = click_test(browser, network, "tis_with_port")

    assert exchange["body"]["port"] == urllib.parse.urlsplit(world.sim.url).port
    assert exchange["status"] == 200, exchange
    answer = json.loads(exchange["answer"])
    assert answer["status"] is True, answer
    assert answer["message"].startswith("Connected to TOPMed Imputation Server as alice"), answer
    assert "Connected to TOPMed Imputation Server" in toast(browser, "success").text
    capture("connection_test_button_with_port")


def test_the_test_button_for_a_tis_connection_without_a_port(
    browser: Any, world: World, network: NetworkLog, capture: Callable[[str], Path]
) -> None:
    """Airflow 3.3.2's UI sends ``"port": 0`` for a connection without a port (``Number(null)``), and the
    API refuses a test whose port differs from the stored one without new credentials: every ``tis``
    connection made in the form (which hides the port) fails the Test button. Fixed in Airflow by
    apache/airflow#73298; until then this test xfails, and passes once the installed Airflow has it."""
    browser.get(f"{world.airflow.url}/connections")
    the_test_button(browser, "tis_default")
    network.forget()
    exchange = click_test(browser, network, "tis_default")
    toast(browser, "success" if exchange["status"] == 200 else "error")
    capture("connection_test_button_without_port")

    assert exchange["body"]["port"] in (0, None), exchange["body"]
    if exchange["status"] == 400 and PORT_ZERO_REFUSAL in exchange["answer"]:
        assert exchange["body"]["port"] == 0 and exchange["body"]["password"] == "***", exchange["body"]
        pytest.xfail(f"Airflow's UI sends port 0 and the API refuses it: {exchange['answer']}")
    assert exchange["status"] == 200, exchange
    assert json.loads(exchange["answer"])["status"] is True, exchange
