"""CORS, X-HTTP-Method-Override and the proxy-aware absolute Location."""

from tus_server_testing import OCTET, TUS, MakeClient, create, offset_of

from tuskit_server import Cors

ORIGIN = "https://app.example"


async def test_preflight(make_client: MakeClient) -> None:
    client = await make_client()
    path = await create(client, 3)
    response = await client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "upload-offset, tus-resumable",
        },
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"]
    for name in ("Upload-Offset", "Tus-Resumable", "Upload-Checksum", "X-HTTP-Method-Override"):
        assert name in allowed
    assert response.headers["Access-Control-Max-Age"] == "86400"
    assert "Access-Control-Expose-Headers" not in response.headers  # tusd#1059
    # a preflight is answered 200 even when it carries Tus-Resumable (204 is for tus clients)
    odd = await client.options(
        path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PATCH", **TUS}
    )
    assert odd.status == 200


async def test_actual_response_exposes_tus_headers(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.post(
        "/uploads", headers={**TUS, "Upload-Length": "3", "Origin": ORIGIN}
    )
    assert response.status == 201
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.headers.getall("Vary")
    exposed = response.headers["Access-Control-Expose-Headers"]
    for name in ("Location", "Upload-Offset", "Upload-Expires", "Tus-Resumable", "Upload-Metadata"):
        assert name in exposed
    error = await client.post("/uploads", headers={"Origin": ORIGIN})
    assert error.status == 412
    assert error.headers["Access-Control-Allow-Origin"] == ORIGIN


async def test_origin_allow_list(make_client: MakeClient) -> None:
    client = await make_client(cors=Cors(origins=[ORIGIN], credentials=True))
    ok = await client.post("/uploads", headers={**TUS, "Upload-Length": "1", "Origin": ORIGIN})
    assert ok.status == 201
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    refused = await client.post(
        "/uploads", headers={**TUS, "Upload-Length": "1", "Origin": "https://evil.example"}
    )
    assert refused.status == 403
    assert "Access-Control-Allow-Origin" not in refused.headers


async def test_cors_off(make_client: MakeClient) -> None:
    client = await make_client(cors=None)
    response = await client.post(
        "/uploads", headers={**TUS, "Upload-Length": "1", "Origin": ORIGIN}
    )
    assert response.status == 201
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_method_override_patch_head_delete(make_client: MakeClient) -> None:
    client = await make_client()
    path = await create(client, 5)
    response = await client.post(
        path,
        headers={
            **TUS,
            "X-HTTP-Method-Override": "PATCH",
            "Upload-Offset": "0",
            "Content-Type": OCTET,
        },
        data=b"abc",
    )
    assert response.status == 204
    assert response.headers["Upload-Offset"] == "3"
    head = await client.post(path, headers={**TUS, "X-HTTP-Method-Override": "HEAD"})
    assert head.status == 200
    assert head.headers["Upload-Offset"] == "3"
    assert await offset_of(client, path) == 3
    gone = await client.post(path, headers={**TUS, "X-HTTP-Method-Override": "DELETE"})
    assert gone.status == 204
    assert (await client.head(path, headers=TUS)).status == 410


async def test_method_override_refuses_other_methods(make_client: MakeClient) -> None:
    client = await make_client()
    path = await create(client, 5)
    response = await client.post(path, headers={**TUS, "X-HTTP-Method-Override": "GET"})
    assert response.status == 405
    assert "Allow" in response.headers
    # the override is ignored on the creation URL: this is an ordinary POST
    created = await client.post(
        "/uploads", headers={**TUS, "Upload-Length": "1", "X-HTTP-Method-Override": "DELETE"}
    )
    assert created.status == 201


async def test_location_ignores_proxy_headers_by_default(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.post(
        "/uploads",
        headers={
            **TUS,
            "Upload-Length": "1",
            "X-Forwarded-Host": "tus.example",
            "X-Forwarded-Proto": "https",
        },
    )
    assert response.headers["Location"].startswith(f"http://{client.host}:{client.port}/uploads/")


async def test_location_behind_proxy(make_client: MakeClient) -> None:
    client = await make_client(behind_proxy=True)
    response = await client.post(
        "/uploads",
        headers={
            **TUS,
            "Upload-Length": "1",
            "X-Forwarded-Host": "tus.example:443",
            "X-Forwarded-Proto": "https",
        },
    )
    assert response.headers["Location"].startswith("https://tus.example/uploads/")
    forwarded = await client.post(
        "/uploads",
        headers={
            **TUS,
            "Upload-Length": "1",
            "Forwarded": 'for=1.2.3.4;host="files.example:8443";proto=https',
        },
    )
    assert forwarded.headers["Location"].startswith("https://files.example:8443/uploads/")
    bogus = await client.post(
        "/uploads",
        headers={
            **TUS,
            "Upload-Length": "1",
            "X-Forwarded-Host": "evil/path",
            "X-Forwarded-Proto": "gopher",
        },
    )
    assert bogus.headers["Location"].startswith(f"http://{client.host}:{client.port}/uploads/")
