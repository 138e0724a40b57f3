"""`hydrant sigproxy` checked by SigV4 implementations no one here wrote: botocore's, and
moto's server with request authentication on (a 403 unless the signature is right)."""

import json

import boto3
import pytest

from sigproxy_support import BotocoreVerifier, Moto, Sigproxy

KEY = "AKIAINTEROPTEST00001"
SECRET = "interop/Secret+Key/abcdefghijklmnop"
TOKEN = "IQoJb3JpZ2luX2VjEInterop//Session+Token=="

# Request targets as a browser, curl or a client library sends them.
AWKWARD = [
    ("GET", "/logs-*/_search?q=status:404+AND+verb:GET&size=5"),
    ("GET", "/logs-2026.11.26/_doc/a%2Fb%2Fc?routing=user%2B1"),
    ("GET", "/idx/_search?q=message:%22disk%20full%22&sort=@timestamp:desc"),
    ("GET", "/caf%C3%A9/_search?q=word:cr%C3%A8me+br%C3%BBl%C3%A9e"),
    ("GET", "//idx//_count?q=*"),
    ("GET", "/idx/./_mapping/../_count?pretty"),
    ("GET", "/_cat/indices?v&h=index,docs.count&s=index:desc"),
    ("GET", "/idx/_search?q=path:%2Fvar%2Flog&q=a*b:c"),
    ("POST", "/_msearch?typed_keys=true&max_concurrent_searches=5"),
    ("PUT", "/idx/_doc/id%20with%20spaces?refresh=wait_for"),
    ("DELETE", "/idx-%2A"),
]


@pytest.fixture
def cleanup():
    items = []
    yield items.append
    for item in reversed(items):
        item.stop()


def static_credentials(key=KEY, secret=SECRET, token=None):
    text = f"[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
    if token:
        text += f"aws_session_token = {token}\n"
    return text


@pytest.mark.parametrize("service", ["es", "aoss"])
def test_botocore_verifies_every_awkward_request_the_proxy_signs(cleanup, service):
    upstream = BotocoreVerifier((KEY, SECRET), "eu-west-1", service)
    cleanup(upstream)
    proxy = Sigproxy(f"http://{upstream.addr}", ["--region", "eu-west-1", "--service", service],
                     credentials=static_credentials(token=TOKEN))
    cleanup(proxy)
    for method, target in AWKWARD:
        body = b'{"query":{"match_all":{}}}\n' if method in ("POST", "PUT") else b""
        headers = {"Content-Type": "application/json", "kbn-xsrf": "true"} if body else {}
        status, _, raw = proxy.request(method, target, body, headers)
        result = json.loads(raw)
        assert status == 200, f"{method} {target}: {result}"
        assert result["body_sha256_matches"], f"{method} {target}: {result}"
        expected = ["host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"]
        if body:
            expected = ["content-type"] + expected
        assert result["signed_headers"] == expected, result


def test_botocore_rejects_what_the_proxy_signs_with_another_secret(cleanup):
    upstream = BotocoreVerifier((KEY, SECRET), "eu-west-1", "es")
    cleanup(upstream)
    proxy = Sigproxy(f"http://{upstream.addr}", ["--region", "eu-west-1"],
                     credentials=static_credentials(secret="some-other-secret"))
    cleanup(proxy)
    status, _, _ = proxy.request("GET", "/_search")
    assert status == 403


@pytest.fixture
def moto_with_auth(cleanup):
    """moto with an IAM user allowed es:* (and to assume role `analyst`, itself allowed es:*),
    then request authentication switched on. moto checks signatures on its OpenSearch Service
    API (`/2021-01-01/...`)."""
    moto = Moto()
    cleanup(moto)
    iam = boto3.client("iam", endpoint_url=moto.url, region_name="us-east-1",
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam.create_user(UserName="dashboards")
    key = iam.create_access_key(UserName="dashboards")["AccessKey"]
    allow = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": ["es:*", "sts:AssumeRole"], "Resource": "*"}]}
    iam.put_user_policy(UserName="dashboards", PolicyName="search", PolicyDocument=json.dumps(allow))
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="analyst", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    search = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "es:*", "Resource": "*"}]}
    iam.put_role_policy(RoleName="analyst", PolicyName="search", PolicyDocument=json.dumps(search))
    moto.enable_authentication()
    return moto, key["AccessKeyId"], key["SecretAccessKey"], role["Arn"]


def test_moto_with_authentication_accepts_what_the_proxy_signs(cleanup, moto_with_auth):
    moto, key, secret, _ = moto_with_auth
    proxy = Sigproxy(moto.url, ["--region", "us-east-1", "--service", "es"],
                     credentials=static_credentials(key, secret))
    cleanup(proxy)
    create = json.dumps({"DomainName": "logs", "EngineVersion": "OpenSearch_2.11"}).encode()
    status, _, body = proxy.request("POST", "/2021-01-01/opensearch/domain", create,
                                    {"Content-Type": "application/json"})
    assert status == 200, body
    arn = json.loads(body)["DomainStatus"]["ARN"]
    status, _, body = proxy.request("GET", "/2021-01-01/domain")
    assert status == 200, body
    assert [d["DomainName"] for d in json.loads(body)["DomainNames"]] == ["logs"]
    status, _, body = proxy.request("GET", "/2021-01-01/opensearch/domain/logs")
    assert status == 200, body
    # `:` and `/` inside a query value, sent encoded (as botocore would) and raw (as curl might).
    for quoted in [arn.replace(":", "%3A").replace("/", "%2F"), arn]:
        status, _, body = proxy.request("GET", f"/2021-01-01/tags/?arn={quoted}")
        assert status == 200, body


def test_moto_passes_a_wrong_signature_back_as_403(cleanup, moto_with_auth):
    moto, key, _, _ = moto_with_auth
    proxy = Sigproxy(moto.url, ["--region", "us-east-1"], credentials=static_credentials(key, "wrong-secret"))
    cleanup(proxy)
    status, _, body = proxy.request("GET", "/2021-01-01/domain")
    assert status == 403, body
    assert b"<Code>SignatureDoesNotMatch</Code>" in body, body


def test_assume_role_through_source_profile_against_moto_sts(cleanup, moto_with_auth):
    moto, key, secret, role_arn = moto_with_auth
    config = f"[profile analyst]\nrole_arn = {role_arn}\nsource_profile = base\nregion = us-east-1\n"
    credentials = f"[base]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
    proxy = Sigproxy(moto.url, ["--region", "us-east-1", "--profile", "analyst"],
                     credentials=credentials, config=config,
                     env={"AWS_ENDPOINT_URL_STS": moto.url})
    cleanup(proxy)
    status, _, body = proxy.request("GET", "/_sigproxy/health")
    health = json.loads(body)
    assert status == 200, health
    assert health["credentials"]["temporary"] is True, health
    assert health["credentials"]["expires_in_seconds"] > 0, health
    status, _, body = proxy.request("GET", "/2021-01-01/domain")
    assert status == 200, body


def test_hydrant_verifies_what_opensearch_py_signs_and_refuses_the_rest(hydrant):
    """The other half: Hydrant's own verifier (`[auth.sigv4]`) against a signer no one here
    wrote (opensearch-py's AWSV4SignerAuth, on botocore)."""
    import requests
    from botocore.credentials import Credentials
    from opensearchpy import OpenSearch, RequestsHttpConnection
    from opensearchpy.exceptions import AuthorizationException
    from opensearchpy.helpers.signer import RequestsAWSV4SignerAuth

    h = hydrant(config=f'[auth.sigv4]\nregion = "eu-west-1"\n[auth.sigv4.keys]\n{KEY} = "{SECRET}"\n')
    auth = RequestsAWSV4SignerAuth(Credentials(KEY, SECRET, TOKEN), "eu-west-1", "es")
    lines = '{"msg":"disk full","level":"error"}\n{"msg":"a:b*c","level":"info"}\n'
    r = requests.post(f"{h.url}/v1/streams/app/records?refresh=wait_for", data=lines, auth=auth,
                      headers={"content-type": "application/x-ndjson"}, timeout=60)
    assert r.status_code == 200, r.text
    client = OpenSearch(hosts=[h.url], http_auth=auth, connection_class=RequestsHttpConnection)
    assert client.count(index="app")["count"] == 2
    assert client.count(index="ap*", q='msg:"a:b*c"')["count"] == 1

    wrong = RequestsAWSV4SignerAuth(Credentials(KEY, "not-the-secret"), "eu-west-1", "es")
    bad = OpenSearch(hosts=[h.url], http_auth=wrong, connection_class=RequestsHttpConnection)
    with pytest.raises(AuthorizationException):
        bad.count(index="app")
    r = requests.get(f"{h.url}/app/_count", timeout=30)
    assert r.status_code == 403
    assert r.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_web_identity_credentials_from_moto_sts_are_accepted_by_moto(cleanup, tmp_path):
    moto = Moto()
    cleanup(moto)
    iam = boto3.client("iam", endpoint_url=moto.url, region_name="us-east-1",
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/ci"},
        "Action": "sts:AssumeRoleWithWebIdentity"}]}
    role = iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    search = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "es:*", "Resource": "*"}]}
    iam.put_role_policy(RoleName="ci", PolicyName="search", PolicyDocument=json.dumps(search))
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl")
    # AssumeRoleWithWebIdentity is an unsigned call: the proxy makes it at start, before moto
    # starts demanding signatures, which then apply to the role's temporary credentials.
    proxy = Sigproxy(moto.url, ["--region", "us-east-1"], env={
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
        "AWS_ROLE_ARN": role["Arn"],
        "AWS_ROLE_SESSION_NAME": "sigproxy-interop",
        "AWS_ENDPOINT_URL_STS": moto.url,
    })
    cleanup(proxy)
    status, _, body = proxy.request("GET", "/_sigproxy/health")
    health = json.loads(body)
    assert status == 200 and health["credentials"]["temporary"] is True, health
    moto.enable_authentication()
    status, _, body = proxy.request("GET", "/2021-01-01/domain")
    assert status == 200, body
