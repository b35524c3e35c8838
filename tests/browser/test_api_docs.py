"""Swagger UI renders with no network beyond our own server."""

import pytest
from playwright.sync_api import Page, expect


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_swagger_ui_renders_offline(live_server, page: Page):
    page.set_default_timeout(10_000)
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Deal Alerts API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    page.screenshot(path="/tmp/polish-api-docs.png")
    assert outside == []
