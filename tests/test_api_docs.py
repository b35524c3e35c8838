"""`/api/docs/` works offline: Swagger UI comes from our own static files, not a CDN."""

import re

import pytest

pytestmark = pytest.mark.django_db


def asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r'"(https?://[^"]+|/static/[^"]+)"', html)


def test_docs_page_references_only_local_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = asset_urls(html)
    assert not [url for url in urls if url.startswith(("http://", "https://", "//"))], urls
    static = sorted({url for url in urls if url.startswith("/static/")})
    assert any(url.endswith("swagger-ui-bundle.js") for url in static), static
    assert any(url.endswith("swagger-ui.css") for url in static), static
    for url in static:
        served = client.get(url)
        assert served.status_code == 200, url
        body = b"".join(served.streaming_content) if served.streaming else served.content
        assert body, url
